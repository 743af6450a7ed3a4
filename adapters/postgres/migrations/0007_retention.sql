-- Retention and lifecycle jobs (docs/domain.md §1, §3, §7). One pass at a time runs across all instances,
-- under a session advisory lock, in bounded transactions. What each job keeps, and why:
--
-- * Plans: purged once past their visibility window (the same rule as src/domain/visibility.ts), or
--   at once when they carry a delete date.
-- * Access history (accesses): it exists only to be shown with a person's plans, so it goes when the
--   person's last plan is purged, together with their pds_rechecks row. The audit trail keeps the
--   long-term record of every lookup, under its own retention.
-- * Notifications: kept NOTIFICATION_RETENTION_DAYS after they occurred and were acknowledged. An
--   unacknowledged notification is never deleted: an alert about a child must not vanish unread (the
--   unacknowledged gauge shows operators what is waiting). Event numbers come from la_event_counters,
--   so deleting old rows never makes a number repeat, and replay after any number still works.
-- * Audit trail: kept AUDIT_RETENTION_DAYS, longer than anything else, and purged through the audit
--   chain's own purge so that verification still holds.

-- When the over-18 job handled this plan: it ended it on the 18th birthday (and told the LA), or found it
-- already ended. Set in the same transaction as the notification, so it is sent exactly once per plan.
-- An upload's upsert never touches it: the same plan sent again is not notified again (and a CPP/LAC
-- record whose subject is 18 is rejected at upload anyway); a plan deleted and published afresh is a
-- new plan.
ALTER TABLE plans ADD COLUMN over_18_handled_at timestamptz;

-- Narrow indexes for the jobs' bounds. The first also serves the over-18 job; the others hold only
-- ended or deleted plans, a small part of the register.
CREATE INDEX plans_adult_by ON plans (birth_date) WHERE plan_type <> 'UCPP';
CREATE INDEX plans_ended ON plans (end_date) WHERE end_date IS NOT NULL;
CREATE INDEX plans_deleted ON plans (id) WHERE delete_date IS NOT NULL;
CREATE INDEX notifications_acknowledged_by_age ON notifications (occurred_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (recorded_at);
