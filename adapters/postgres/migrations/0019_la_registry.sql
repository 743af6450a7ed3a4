-- The LA registry and the health of each feed (issue 16, items 1 and 2).
--
-- An LA is registered by an operator (POST /ops/v1/las) and may be suspended and reinstated. With
-- LA_REGISTRATION=required only a registered, active LA may publish; a suspended LA may not publish in
-- either mode. Its plans stay served (README, The LA registry).
--
-- registered_at null: the LA came into being by its own PUT /la/v1/organisation and no operator has
-- registered it. status_changed_*: the last suspension or reinstatement (the audit trail keeps them all).
ALTER TABLE organisations
  ADD COLUMN status text NOT NULL DEFAULT 'active' CONSTRAINT organisations_status CHECK (status IN ('active', 'suspended')),
  ADD COLUMN registered_at timestamptz,
  ADD COLUMN registered_by text,
  ADD COLUMN status_changed_at timestamptz,
  ADD COLUMN status_changed_by text,
  ADD COLUMN status_reason text;

-- An LA already publishing is a feed in service: refusing it at the upgrade (production now defaults to
-- LA_REGISTRATION=required) would stop its plans being refreshed, with nobody having decided so. It is
-- registered by the migration, and says so; an LA that only set its details and never published is not.
UPDATE organisations o SET registered_at = now(), registered_by = 'migration 0019 (already publishing)'
WHERE EXISTS (SELECT 1 FROM uploads u WHERE u.la_code = o.code);

-- Feed health reads, per LA and on every scrape, its last accepted batch and that batch's refusal
-- counts: the counts as a column of their own, so that the read never unpacks an acknowledgement
-- (which lists up to ACK_MAX_LISTED refused records).
ALTER TABLE uploads ADD COLUMN refusal_counts jsonb GENERATED ALWAYS AS (acknowledgement->'refusalCounts') STORED;
CREATE INDEX uploads_latest ON uploads (la_code, received_at DESC);

-- The count and the oldest of each LA's unacknowledged notifications, from the index alone; it
-- replaces the index on la_code alone, which it covers.
CREATE INDEX notifications_unacknowledged_by_age ON notifications (la_code, occurred_at) WHERE acknowledged_at IS NULL;
DROP INDEX notifications_unacknowledged;
