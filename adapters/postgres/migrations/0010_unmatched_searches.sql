-- Not a register of all children (issue 11, item 8; README, Privacy). Most children looked up in
-- unscheduled care have no plan. Keeping each of those searches for AUDIT_RETENTION_DAYS (about 7
-- years) with the NHS number, the user, the organisation and the setting would make the audit trail
-- a national record of children's attendances, far outside the CP-IS cohort. A search whose NHS
-- number had no visible plan when it was made (searchAuditTrailOf, src/domain/lookup.ts) is written
-- here instead of audit_events, in the same single-statement transaction, before its answer; the
-- retention job purges these rows after UNMATCHED_SEARCH_RETENTION_DAYS (30), writing one count-only
-- row to audit_events for each batch it removes.
--
-- A table and chain of their own, rather than rows of audit_events: a hash chain can only lose each
-- lane's oldest rows (the purge moves the lane's anchor past them), so short-lived rows deleted from
-- the middle of audit_events' lanes would read as tampering (gaps). This table is chained exactly as
-- 0006 chains audit_events: 64 lanes, because these are most of the lookups; heads and anchors of its
-- own; UPDATE refused; purged oldest-first per lane through its anchors. Its canonical form is
-- 0006's under the tag 'cpis-unmatched-search/1', so that no row of one chain can pass for a row of
-- the other. npm run audit:verify verifies both chains.
--
-- Rows written before this migration stay where they are and age out of audit_events under
-- AUDIT_RETENTION_DAYS: moving them would mean rewriting the lanes they sit in, which is exactly what
-- verification and the operators' checkpoints exist to catch.

CREATE TABLE unmatched_search_events (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_at       timestamptz NOT NULL,
  action            text NOT NULL,
  outcome           text NOT NULL,
  user_id           text NOT NULL,
  user_name         text,
  user_role         text NOT NULL,
  organisation_code text NOT NULL,
  organisation_name text,
  setting           text,
  nhs_number        char(10) NOT NULL,
  unscheduled       boolean,
  request_id        text NOT NULL,
  detail            jsonb,
  -- Assigned by the chain trigger below, whatever the inserter passes.
  lane              smallint NOT NULL,
  seq               bigint NOT NULL,
  prev_hash         bytea NOT NULL,
  hash              bytea NOT NULL,
  CONSTRAINT unmatched_search_chain_position UNIQUE (lane, seq)
);
CREATE INDEX unmatched_search_events_by_nhs ON unmatched_search_events (nhs_number, recorded_at);
CREATE INDEX unmatched_search_events_by_time ON unmatched_search_events (recorded_at);

CREATE TABLE unmatched_search_chain_heads (
  lane smallint PRIMARY KEY CHECK (lane >= 0 AND lane < 64),
  seq  bigint NOT NULL,
  hash bytea NOT NULL
) WITH (fillfactor = 50);  -- updated on every insert: room for HOT updates

CREATE TABLE unmatched_search_chain_anchors (
  lane     smallint PRIMARY KEY CHECK (lane >= 0 AND lane < 64),
  seq      bigint NOT NULL,
  hash     bytea NOT NULL,
  moved_at timestamptz
);

INSERT INTO unmatched_search_chain_heads (lane, seq, hash)
SELECT l, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 63) AS l;
INSERT INTO unmatched_search_chain_anchors (lane, seq, hash)
SELECT l, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 63) AS l;

-- audit_chain_canonical() of 0006 under this chain's tag; adapters/postgres/audit-chain.ts builds the same in Node.
CREATE FUNCTION unmatched_search_canonical(e unmatched_search_events) RETURNS bytea LANGUAGE sql STABLE AS $$
  SELECT convert_to(
    audit_chain_field('cpis-unmatched-search/1') || audit_chain_field(e.lane::text) || audit_chain_field(e.seq::text) ||
    audit_chain_field(e.id::text) ||
    audit_chain_field(to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
    audit_chain_field(e.action) || audit_chain_field(e.outcome) || audit_chain_field(e.user_id) ||
    audit_chain_field(e.user_name) || audit_chain_field(e.user_role) || audit_chain_field(e.organisation_code) ||
    audit_chain_field(e.organisation_name) || audit_chain_field(e.setting) || audit_chain_field(e.nhs_number::text) ||
    audit_chain_field(e.unscheduled::text) || audit_chain_field(e.request_id) || audit_chain_field(e.detail::text),
    'UTF8')
$$;

-- audit_chain_link() of 0006 (see there for the lanes and why), over this chain's heads. A copy rather
-- than one function taking the tables as arguments: that would need dynamic SQL, planned again on
-- every insert of the hottest statement the service runs, and would touch the 7-year chain's trigger.
CREATE FUNCTION unmatched_search_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  held smallint := nullif(current_setting('cpis.unmatched_search_lane', true), '')::smallint;
  first integer;
  head record;
BEGIN
  IF held IS NOT NULL THEN
    SELECT h.lane, h.seq, h.hash INTO head FROM unmatched_search_chain_heads h WHERE h.lane = held FOR UPDATE;
  ELSE
    first := pg_backend_pid() % lanes;
    FOR i IN 0 .. lanes - 1 LOOP
      SELECT h.lane, h.seq, h.hash INTO head FROM unmatched_search_chain_heads h WHERE h.lane = (first + i) % lanes FOR UPDATE SKIP LOCKED;
      IF FOUND THEN
        held := head.lane;
        EXIT;
      END IF;
    END LOOP;
    IF held IS NULL THEN
      SELECT h.lane, h.seq, h.hash INTO head FROM unmatched_search_chain_heads h WHERE h.lane = first FOR UPDATE;
    END IF;
    PERFORM set_config('cpis.unmatched_search_lane', head.lane::text, true);
  END IF;
  NEW.lane := head.lane;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := sha256(head.hash || unmatched_search_canonical(NEW));
  UPDATE unmatched_search_chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE lane = head.lane;
  RETURN NEW;
END
$$;

CREATE TRIGGER unmatched_search_events_chain BEFORE INSERT ON unmatched_search_events
  FOR EACH ROW EXECUTE FUNCTION unmatched_search_chain_link();

CREATE FUNCTION unmatched_search_events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'unmatched_search_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER unmatched_search_events_append_only BEFORE UPDATE ON unmatched_search_events
  FOR EACH ROW EXECUTE FUNCTION unmatched_search_events_refuse_update();
