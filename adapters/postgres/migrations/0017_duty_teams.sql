-- Assured alerts (issue 15): an LA's duty teams and routing rules, the team a plan is allocated to,
-- the team each notification was routed to, escalation of alerts nobody acknowledges, and an
-- acknowledgement feed every console of the LA follows.

-- The LA's duty teams and routing rules (PUT /la/v1/duty-teams), as one document; null: none set, so
-- every worker of the LA sees every alert, as before. On organisations, so a lookup reads it in the
-- join it already makes.
ALTER TABLE organisations ADD COLUMN duty_teams jsonb;

-- The team the LA allocated the case to (optional upload field teamCode): for allocated or MASH
-- routing. Never shown to clinicians.
ALTER TABLE plans ADD COLUMN team_code text;
ALTER TABLE upload_staging ADD COLUMN team_code text;

ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
  CHECK (type IN ('access', 'inactive-nhs-number', 'plan-ended-over-18', 'was-not-brought', 'escalation'));

-- The body is the truth; these columns let the stream, the mailbox and the escalation job filter and
-- find by them without reading every body.
ALTER TABLE notifications
  ADD COLUMN team_code text GENERATED ALWAYS AS (body->'routedTo'->>'teamCode') STORED,
  ADD COLUMN escalates_event bigint GENERATED ALWAYS AS ((body->'escalates'->>'eventNumber')::bigint) STORED,
  -- When the alert was last escalated, and how many times: the job's state, which survives restarts.
  ADD COLUMN escalated_at timestamptz,
  ADD COLUMN escalations integer NOT NULL DEFAULT 0,
  ADD COLUMN acknowledged_by_name text,
  -- The LA's acknowledgement number: acknowledgements of one LA commit in this order (the counter row
  -- lock), so a reader after a number always sees a prefix, as with event numbers.
  ADD COLUMN ack_seq bigint;

ALTER TABLE la_event_counters ADD COLUMN last_ack_seq bigint NOT NULL DEFAULT 0;

CREATE INDEX notifications_by_ack_seq ON notifications (la_code, ack_seq) WHERE ack_seq IS NOT NULL;
CREATE INDEX notifications_escalating ON notifications (la_code, escalates_event) WHERE escalates_event IS NOT NULL;

-- Acknowledges an LA's notifications: those chosen (up to a number, or by number) and, with each,
-- the rest of its alert: the original an escalation repeats, and every escalation of it. The LA's
-- counter row is locked first, as every writer of the LA's notifications does (record_accesses(),
-- the escalation job), then the rows. Wakes the LA's streams on every instance at commit.
CREATE FUNCTION acknowledge_notifications(p_la text, p_at timestamptz, p_user text, p_name text, p_up_to bigint, p_events bigint[])
RETURNS TABLE (event_number bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  seq bigint;
BEGIN
  UPDATE la_event_counters c SET last_ack_seq = c.last_ack_seq + 1 WHERE c.la_code = p_la RETURNING c.last_ack_seq INTO seq;
  IF seq IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH chosen AS (
    SELECT n.event_number, n.escalates_event FROM notifications n
    WHERE n.la_code = p_la AND n.acknowledged_at IS NULL
      AND (CASE WHEN p_up_to IS NOT NULL THEN n.event_number <= p_up_to ELSE n.event_number = ANY (p_events) END)
  ), originals AS (
    SELECT COALESCE(escalates_event, chosen.event_number) AS original FROM chosen
  ), family AS (
    SELECT original AS event_number FROM originals
    UNION
    SELECT n.event_number FROM notifications n WHERE n.la_code = p_la AND n.escalates_event IN (SELECT original FROM originals)
  )
  UPDATE notifications n SET acknowledged_at = p_at, acknowledged_by = p_user, acknowledged_by_name = p_name, ack_seq = seq
  FROM family f
  WHERE n.la_code = p_la AND n.event_number = f.event_number AND n.acknowledged_at IS NULL
  RETURNING n.event_number;
  IF FOUND THEN
    PERFORM pg_notify('cpis_outbox', p_la || ':ack');
  END IF;
END
$$;
