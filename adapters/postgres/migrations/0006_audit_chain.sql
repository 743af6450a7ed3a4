-- Tamper-evident audit trail (issue 5, item 6). Every audit row is hash-chained by a BEFORE INSERT
-- trigger, inside the transaction that inserts it: whatever code path writes audit_events, the row is
-- chained or not written at all.
--
-- The chain. Rows belong to one of 64 lanes. Within a lane, seq runs 1, 2, 3… with no gaps, and
--   hash = sha256(prev_hash || canonical bytes of the row),
-- prev_hash being the hash of the lane's previous row, or, for its first row, the lane's trusted anchor
-- (audit_chain_anchors: seq 0 and 32 zero bytes, until a retention purge moves it to the last row it
-- deleted). audit_chain_heads holds each lane's newest seq and hash, so removing the newest rows shows
-- as a head that the rows no longer reach. adapters/postgres/audit-chain.ts verifies all of it in Node.
--
-- Canonical bytes: the tag 'cpis-audit/1', then lane, seq, id, recorded_at in UTC with microseconds,
-- action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, setting,
-- nhs_number, unscheduled ('true'/'false'), request_id and detail (jsonb text), each written as
-- <UTF-8 byte length>:<value>, and NULL as ~, . No session setting (TimeZone, DateStyle, locale) changes
-- them. A column added to audit_events later is not covered until it joins this form under a new tag.
--
-- Why lanes. A lane's head row stays locked from the audit insert until commit, and every lookup is
-- audited: with one chain, audited transactions would commit one at a time, each waiting for the
-- previous one's WAL flush. Measured on the 2-core development machine (PostgreSQL 15, fsync on, 32
-- clients each inserting audit rows in their own transactions): no chain about 23,000 rows/s, one
-- chain about 2,200/s, 16 lanes about 7,000/s, 64 lanes about 11,000/s. 64 lanes do as well with 32
-- clients as with 16, so what remains of the gap is the trigger's own work on each row, not waiting.
-- Through the service (npm run bench -- lookup) the chain costs about a tenth of lookup throughput.
-- A transaction takes the first lane that no other transaction holds (FOR UPDATE SKIP LOCKED, probing
-- from its backend pid mod 64 so that connections spread out) and keeps it for any further audit rows
-- of the same transaction. Only when all 64 are held does it wait, for its own pid's lane, and waiting
-- is what costs most, so the lanes outnumber the connections of several instances at the default pool
-- size. Audit rows are written last in their transaction (record_access() is redefined below to do
-- that): a transaction holding a lane then has nothing left to wait for but its commit, which keeps
-- lanes out of lock cycles and keeps the time a lane is held short.
--
-- Append-only: an UPDATE of an audit row is refused. Rows leave only through purgeAuditBefore()
-- (retention), which deletes a prefix of each lane and moves the lane's anchor in the same transaction.
-- None of this stops someone who owns the tables from rewriting a whole lane with fresh hashes: that
-- is what the head hash printed by `npm run audit:verify` (and its --json checkpoint), kept somewhere
-- else, is for.

ALTER TABLE audit_events
  ADD COLUMN lane smallint,
  ADD COLUMN seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash bytea;

CREATE TABLE audit_chain_heads (
  lane smallint PRIMARY KEY CHECK (lane >= 0 AND lane < 64),
  seq  bigint NOT NULL,
  hash bytea NOT NULL
) WITH (fillfactor = 50);  -- updated on every audit insert: room for HOT updates

CREATE TABLE audit_chain_anchors (
  lane     smallint PRIMARY KEY CHECK (lane >= 0 AND lane < 64),
  seq      bigint NOT NULL,
  hash     bytea NOT NULL,
  moved_at timestamptz
);

-- One field of the canonical form.
CREATE FUNCTION audit_chain_field(v text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN v IS NULL THEN '~,' ELSE octet_length(convert_to(v, 'UTF8')) || ':' || v || ',' END
$$;

-- The canonical bytes of one row (see above); adapters/postgres/audit-chain.ts builds the same in Node.
CREATE FUNCTION audit_chain_canonical(e audit_events) RETURNS bytea LANGUAGE sql STABLE AS $$
  SELECT convert_to(
    audit_chain_field('cpis-audit/1') || audit_chain_field(e.lane::text) || audit_chain_field(e.seq::text) ||
    audit_chain_field(e.id::text) ||
    audit_chain_field(to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
    audit_chain_field(e.action) || audit_chain_field(e.outcome) || audit_chain_field(e.user_id) ||
    audit_chain_field(e.user_name) || audit_chain_field(e.user_role) || audit_chain_field(e.organisation_code) ||
    audit_chain_field(e.organisation_name) || audit_chain_field(e.setting) || audit_chain_field(e.nhs_number::text) ||
    audit_chain_field(e.unscheduled::text) || audit_chain_field(e.request_id) || audit_chain_field(e.detail::text),
    'UTF8')
$$;

-- Rows written by earlier versions form the start of lane 0, in id order. The ALTER TABLE above holds
-- the table's exclusive lock until this migration commits, so no row can slip in unchained meanwhile.
DO $$
DECLARE
  r audit_events;
  n bigint := 0;
  prev bytea := decode(repeat('00', 32), 'hex');
BEGIN
  FOR r IN SELECT * FROM audit_events ORDER BY id LOOP
    n := n + 1;
    r.lane := 0;
    r.seq := n;
    r.prev_hash := prev;
    r.hash := sha256(prev || audit_chain_canonical(r));
    UPDATE audit_events SET lane = 0, seq = n, prev_hash = r.prev_hash, hash = r.hash WHERE id = r.id;
    prev := r.hash;
  END LOOP;
  INSERT INTO audit_chain_heads (lane, seq, hash)
  SELECT l, CASE WHEN l = 0 THEN n ELSE 0 END, CASE WHEN l = 0 THEN prev ELSE decode(repeat('00', 32), 'hex') END
  FROM generate_series(0, 63) AS l;
  INSERT INTO audit_chain_anchors (lane, seq, hash)
  SELECT l, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 63) AS l;
END
$$;

ALTER TABLE audit_events
  ALTER COLUMN lane SET NOT NULL,
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN hash SET NOT NULL,
  ADD CONSTRAINT audit_events_chain_position UNIQUE (lane, seq);

-- Whatever the caller put in lane, seq or the hashes is overwritten: only the chain assigns them.
CREATE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  held smallint := nullif(current_setting('cpis.audit_lane', true), '')::smallint;
  first integer;
  head record;
BEGIN
  IF held IS NOT NULL THEN
    SELECT h.lane, h.seq, h.hash INTO head FROM audit_chain_heads h WHERE h.lane = held FOR UPDATE;
  ELSE
    -- One primary-key probe per lane, never a scan: the heads table is a hot spot that may hold dead row
    -- versions while a long snapshot (a running verification) keeps them from being pruned.
    first := pg_backend_pid() % lanes;
    FOR i IN 0 .. lanes - 1 LOOP
      SELECT h.lane, h.seq, h.hash INTO head FROM audit_chain_heads h WHERE h.lane = (first + i) % lanes FOR UPDATE SKIP LOCKED;
      IF FOUND THEN
        held := head.lane;
        EXIT;
      END IF;
    END LOOP;
    IF held IS NULL THEN
      SELECT h.lane, h.seq, h.hash INTO head FROM audit_chain_heads h WHERE h.lane = first FOR UPDATE;
    END IF;
    -- Transaction-local: further audit rows of this transaction join the lane it already holds.
    PERFORM set_config('cpis.audit_lane', head.lane::text, true);
  END IF;
  NEW.lane := head.lane;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := sha256(head.hash || audit_chain_canonical(NEW));
  UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE lane = head.lane;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_chain_link();

CREATE FUNCTION audit_events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update();

-- As in 0002, but the audit row comes last, so that the chain lane is held only from there to commit.
CREATE OR REPLACE FUNCTION record_access(
  p_nhs_number text, p_at timestamptz, p_user_id text, p_user_name text, p_user_role text,
  p_org_code text, p_org_name text, p_setting text, p_request_id text, p_action text,
  p_notifications jsonb  -- [{ "laCode": "...", "body": { ... } }]
) RETURNS TABLE (la_code text, event_number bigint) LANGUAGE plpgsql AS $$
DECLARE
  n record;
  num bigint;
BEGIN
  -- Concurrent lookups of one child by one user must not both count as "first in 24 hours".
  PERFORM pg_advisory_xact_lock(hashtext('access:' || p_user_id || ':' || p_nhs_number));
  IF NOT EXISTS (
    SELECT 1 FROM accesses a
    WHERE a.user_id = p_user_id AND a.nhs_number = p_nhs_number
      AND a.accessed_at > p_at - interval '24 hours' AND a.accessed_at <= p_at
  ) THEN
    INSERT INTO accesses (nhs_number, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting, request_id)
    VALUES (p_nhs_number, p_at, p_user_id, p_user_name, p_user_role, p_org_code, p_org_name, p_setting, p_request_id);
    -- In LA-code order, so two lookups touching the same LAs take their counter locks in one order.
    FOR n IN SELECT e->>'laCode' AS code, e->'body' AS body FROM jsonb_array_elements(p_notifications) e ORDER BY 1 LOOP
      num := next_event_number(n.code);
      INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
      VALUES (n.code, num, 'access', p_at, p_nhs_number, n.body);
      la_code := n.code;
      event_number := num;
      RETURN NEXT;
    END LOOP;
  END IF;
  INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
                            organisation_name, setting, nhs_number, unscheduled, request_id)
  VALUES (p_at, p_action, 'found', p_user_id, p_user_name, p_user_role, p_org_code, p_org_name, p_setting,
          p_nhs_number, true, p_request_id);
END
$$;
