-- Escalation of unacknowledged alerts (issue 15): the job finds, on every pass and on every instance,
-- each LA's alerts still waiting (access and was-not-brought notifications routed to a duty team and
-- not acknowledged), and the metrics their oldest. This index holds only those rows, so neither reads
-- the LA's other unacknowledged notifications (a case system that never acknowledges leaves many).
CREATE INDEX notifications_waiting_alerts ON notifications (la_code, event_number)
  WHERE acknowledged_at IS NULL AND team_code IS NOT NULL AND type IN ('access', 'was-not-brought');
