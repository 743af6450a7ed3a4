-- The audit trail cannot be purged unseen (issue 12, item 6). Before this migration a table owner
-- could move each lane's anchor to its head and TRUNCATE audit_events, or delete a lane's oldest rows
-- and move its anchor past them, and `audit:verify --checkpoint` still said "intact": a checkpoint held
-- only heads, and nothing told an anchor moved by the retention purge from one moved by hand. A row
-- inserted with an old recorded_at also verified. This migration, for both chains (audit_events of
-- 0006 and unmatched_search_events of 0010):
--
-- 1. recorded_at is the database's time. The chain triggers set it to
--      greatest(clock_timestamp(), the lane head's recorded_at)
--    whatever the inserter passed (the service still passes its own clock, which tests inject; it is
--    simply overwritten), so within a lane it never decreases, even when the host clock steps back.
--    The head's time is kept in the heads tables. recorded_at was already in the canonical form, so
--    the form and its tags are unchanged and every row stays verifiable. Rows written before this
--    migration carry the service's clock and may go back in time across instances: each lane's
--    anchor row remembers db_time_from, the first seq chained under database time, and verification
--    reports a row from there on that is recorded earlier than the row before it.
--
-- 2. The anchor moves only through the retention purge, and the purge is a row of the chained trail.
--    Inserting an audit_events row with action 'retention:purge-audit' or
--    'retention:purge-unmatched-searches' and detail {chain, before, retentionDays} IS the purge: the
--    insert trigger, before it chains the row, cuts each lane of that chain before its first row
--    recorded at or after
--      cutoff = least(before, the row's recorded_at - retentionDays * 24 hours)
--    (so no caller, whatever its clock, removes rows the database's clock says are younger than the
--    retention period it names), moves each cut lane's anchor to the last row removed, deletes the
--    rows, and replaces the detail with what it did:
--      {chain, before, cutoff, retentionDays, rowsRemoved,
--       moves: [{lane, from: {seq, hash}, to: {seq, hash}, rows}]}
--    When nothing is due the row is not inserted at all. The record cannot claim what did not happen:
--    the trigger computes it. Purge records of both chains go to audit_events, the trail kept longer.
--    One purge record is written per batch of the retention job (see retention-store.ts).
--
-- 3. Guards. An anchor row may only be updated from inside a trigger (pg_trigger_depth() > 1: the
--    purge above), forward, and never inserted, deleted or truncated; a row may be deleted only once
--    its lane's anchor is at or past it; TRUNCATE of the rows is refused. An owner can disable triggers
--    (ALTER TABLE ... DISABLE TRIGGER), so these stop mistakes and the service's own role, not the
--    owner: that is what verification and the checkpoint kept outside the database are for.
--
-- 4. Verification (adapters/postgres/audit-chain.ts). A checkpoint (`audit:verify --json`) records
--    each lane's anchor {seq, hash} beside its head {seq, hash, recordedAt}. Against a checkpoint, a
--    lane's current anchor must be the checkpoint's, or be reached from it through the moves of purge
--    records present in the trail (each move's `from` the checkpoint's anchor or the previous move's
--    `to`, hashes equal); rows the checkpoint covered that are still there must still chain to its
--    head; a purge that took the checkpoint's head must have a cut-off later than that head's
--    recordedAt. Without a checkpoint, each lane's purge moves present must connect and end at its
--    current anchor, and an anchor moved at all needs some purge record in the trail (each purge writes
--    one, and only a later purge, which writes its own, can remove it). Every purge record must name a
--    retentionDays of at least the configured AUDIT_RETENTION_DAYS / UNMATCHED_SEARCH_RETENTION_DAYS
--    and a cut-off no later than its own recorded_at minus that period: a purge that removed rows
--    younger than the retention period is reported. A purge record is purged itself after the audit
--    retention period, so a checkpoint older than that period may no longer connect: take one at least
--    daily and keep them outside the database. A checkpoint from before this migration (heads only)
--    is still accepted, with a note that it cannot prove the anchors.
--
-- Limits: someone who disables the triggers can forge a purge record (through the trigger-less path)
-- whose moves connect; a checkpoint then catches it only when the purge claims to have taken the
-- checkpoint's head after a cut-off earlier than that head's recorded time. They can also append rows
-- at the heads; with the rows' recorded_at from the database, a back-dated one is reported.

ALTER TABLE audit_chain_heads ADD COLUMN recorded_at timestamptz;
ALTER TABLE unmatched_search_chain_heads ADD COLUMN recorded_at timestamptz;
ALTER TABLE audit_chain_anchors ADD COLUMN db_time_from bigint;
ALTER TABLE unmatched_search_chain_anchors ADD COLUMN db_time_from bigint;

-- The ALTERs above hold the heads' exclusive locks until commit: no row is chained meanwhile.
UPDATE audit_chain_heads h SET recorded_at = (SELECT max(e.recorded_at) FROM audit_events e WHERE e.lane = h.lane);
UPDATE unmatched_search_chain_heads h SET recorded_at = (SELECT max(e.recorded_at) FROM unmatched_search_events e WHERE e.lane = h.lane);
UPDATE audit_chain_anchors a SET db_time_from = h.seq + 1 FROM audit_chain_heads h WHERE h.lane = a.lane;
UPDATE unmatched_search_chain_anchors a SET db_time_from = h.seq + 1 FROM unmatched_search_chain_heads h WHERE h.lane = a.lane;
ALTER TABLE audit_chain_anchors ALTER COLUMN db_time_from SET NOT NULL;
ALTER TABLE unmatched_search_chain_anchors ALTER COLUMN db_time_from SET NOT NULL;

ALTER TABLE audit_events ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();
ALTER TABLE unmatched_search_events ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();

-- Verification reads every purge record; there are few.
CREATE INDEX audit_events_purges ON audit_events (lane, seq)
  WHERE action IN ('retention:purge-audit', 'retention:purge-unmatched-searches');

-- An instant as the canonical form writes it.
CREATE FUNCTION audit_chain_instant(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The purge of point 2, run by audit_chain_link() for a purge record recorded at p_at. Returns the
-- record's detail, or NULL when nothing is due. Dynamic SQL: purges are rare, and one body serves
-- both chains.
CREATE FUNCTION audit_chain_purge(p_action text, p_request jsonb, p_at timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  chain CONSTANT text := CASE p_action WHEN 'retention:purge-audit' THEN 'audit' WHEN 'retention:purge-unmatched-searches' THEN 'unmatched-search' END;
  rows_table CONSTANT text := CASE chain WHEN 'audit' THEN 'audit_events' ELSE 'unmatched_search_events' END;
  anchors_table CONSTANT text := CASE chain WHEN 'audit' THEN 'audit_chain_anchors' ELSE 'unmatched_search_chain_anchors' END;
  days integer;
  before timestamptz;
  cut timestamptz;
  m record;
  n bigint;
  total bigint := 0;
  moves jsonb := '[]';
BEGIN
  IF p_request->>'chain' IS DISTINCT FROM chain THEN
    RAISE EXCEPTION 'a % record must name chain %', p_action, chain USING ERRCODE = 'check_violation';
  END IF;
  IF jsonb_typeof(p_request->'retentionDays') IS DISTINCT FROM 'number' OR jsonb_typeof(p_request->'before') IS DISTINCT FROM 'string' THEN
    RAISE EXCEPTION 'a % record needs before (an instant) and retentionDays (a number of days)', p_action USING ERRCODE = 'check_violation';
  END IF;
  days := (p_request->>'retentionDays')::integer;
  before := (p_request->>'before')::timestamptz;
  IF days < 1 THEN
    RAISE EXCEPTION 'retentionDays must be at least 1' USING ERRCODE = 'check_violation';
  END IF;
  cut := least(before, p_at - days * interval '24 hours');
  EXECUTE format('SELECT 1 FROM %I ORDER BY lane FOR UPDATE', anchors_table);
  FOR m IN EXECUTE format($q$
    SELECT c.lane, c.from_seq, c.from_hash, e.seq AS to_seq, e.hash AS to_hash
    FROM (SELECT a.lane, a.seq AS from_seq, a.hash AS from_hash,
                 COALESCE((SELECT f.seq - 1 FROM %1$I f WHERE f.lane = a.lane AND f.recorded_at >= $1 ORDER BY f.seq LIMIT 1),
                          (SELECT max(f.seq) FROM %1$I f WHERE f.lane = a.lane)) AS upto
          FROM %2$I a) c
    JOIN %1$I e ON e.lane = c.lane AND e.seq = c.upto
    WHERE c.upto > c.from_seq
    ORDER BY c.lane$q$, rows_table, anchors_table) USING cut
  LOOP
    EXECUTE format('UPDATE %I SET seq = $1, hash = $2, moved_at = $3 WHERE lane = $4', anchors_table) USING m.to_seq, m.to_hash, p_at, m.lane;
    EXECUTE format('DELETE FROM %I WHERE lane = $1 AND seq <= $2', rows_table) USING m.lane, m.to_seq;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
    moves := moves || jsonb_build_array(jsonb_build_object(
      'lane', m.lane,
      'from', jsonb_build_object('seq', m.from_seq, 'hash', encode(m.from_hash, 'hex')),
      'to', jsonb_build_object('seq', m.to_seq, 'hash', encode(m.to_hash, 'hex')),
      'rows', n));
  END LOOP;
  IF total = 0 THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object('chain', chain, 'before', audit_chain_instant(before), 'cutoff', audit_chain_instant(cut),
    'retentionDays', days, 'rowsRemoved', total, 'moves', moves);
END
$$;

-- As in 0006, with the database's time (point 1) and the purge (point 2).
CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  held smallint := nullif(current_setting('cpis.audit_lane', true), '')::smallint;
  first integer;
  head record;
BEGIN
  IF held IS NOT NULL THEN
    SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM audit_chain_heads h WHERE h.lane = held FOR UPDATE;
  ELSE
    first := pg_backend_pid() % lanes;
    FOR i IN 0 .. lanes - 1 LOOP
      SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM audit_chain_heads h WHERE h.lane = (first + i) % lanes FOR UPDATE SKIP LOCKED;
      IF FOUND THEN
        held := head.lane;
        EXIT;
      END IF;
    END LOOP;
    IF held IS NULL THEN
      SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM audit_chain_heads h WHERE h.lane = first FOR UPDATE;
    END IF;
    PERFORM set_config('cpis.audit_lane', head.lane::text, true);
  END IF;
  NEW.lane := head.lane;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.recorded_at := greatest(clock_timestamp(), head.recorded_at);
  IF NEW.action IN ('retention:purge-audit', 'retention:purge-unmatched-searches') THEN
    NEW.detail := audit_chain_purge(NEW.action, NEW.detail, NEW.recorded_at);
    IF NEW.detail IS NULL THEN
      RETURN NULL;  -- nothing was due: no record
    END IF;
  END IF;
  NEW.hash := sha256(head.hash || audit_chain_canonical(NEW));
  UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash, recorded_at = NEW.recorded_at WHERE lane = head.lane;
  RETURN NEW;
END
$$;

-- As in 0010, with the database's time (point 1). Its purge records go to audit_events.
CREATE OR REPLACE FUNCTION unmatched_search_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  held smallint := nullif(current_setting('cpis.unmatched_search_lane', true), '')::smallint;
  first integer;
  head record;
BEGIN
  IF held IS NOT NULL THEN
    SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM unmatched_search_chain_heads h WHERE h.lane = held FOR UPDATE;
  ELSE
    first := pg_backend_pid() % lanes;
    FOR i IN 0 .. lanes - 1 LOOP
      SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM unmatched_search_chain_heads h WHERE h.lane = (first + i) % lanes FOR UPDATE SKIP LOCKED;
      IF FOUND THEN
        held := head.lane;
        EXIT;
      END IF;
    END LOOP;
    IF held IS NULL THEN
      SELECT h.lane, h.seq, h.hash, h.recorded_at INTO head FROM unmatched_search_chain_heads h WHERE h.lane = first FOR UPDATE;
    END IF;
    PERFORM set_config('cpis.unmatched_search_lane', head.lane::text, true);
  END IF;
  NEW.lane := head.lane;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.recorded_at := greatest(clock_timestamp(), head.recorded_at);
  NEW.hash := sha256(head.hash || unmatched_search_canonical(NEW));
  UPDATE unmatched_search_chain_heads SET seq = NEW.seq, hash = NEW.hash, recorded_at = NEW.recorded_at WHERE lane = head.lane;
  RETURN NEW;
END
$$;

-- Point 3: anchors move only forward, from inside the purge trigger; db_time_from never changes.
CREATE FUNCTION audit_chain_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF pg_trigger_depth() > 1 AND NEW.lane = OLD.lane AND NEW.seq > OLD.seq AND NEW.db_time_from = OLD.db_time_from THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '% on %: a chain''s anchors move only forward, through the retention purge (a retention:purge-* audit row)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_chain_anchors_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_anchors
  FOR EACH ROW EXECUTE FUNCTION audit_chain_anchor_guard();
CREATE TRIGGER audit_chain_anchors_no_truncate BEFORE TRUNCATE ON audit_chain_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_anchor_guard();
CREATE TRIGGER unmatched_search_chain_anchors_guard BEFORE INSERT OR UPDATE OR DELETE ON unmatched_search_chain_anchors
  FOR EACH ROW EXECUTE FUNCTION audit_chain_anchor_guard();
CREATE TRIGGER unmatched_search_chain_anchors_no_truncate BEFORE TRUNCATE ON unmatched_search_chain_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_anchor_guard();

-- Point 3: rows leave only from behind their lane's anchor, once per statement.
CREATE FUNCTION audit_events_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM gone g JOIN audit_chain_anchors a ON a.lane = g.lane WHERE g.seq > a.seq) THEN
    RAISE EXCEPTION 'audit rows leave only through the retention purge, from behind their lane''s anchor' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION unmatched_search_events_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM gone g JOIN unmatched_search_chain_anchors a ON a.lane = g.lane WHERE g.seq > a.seq) THEN
    RAISE EXCEPTION 'unmatched searches leave only through the retention purge, from behind their lane''s anchor' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION audit_chain_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'TRUNCATE on %: rows leave only through the retention purge', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_delete_behind_anchor AFTER DELETE ON audit_events
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION audit_events_guard_delete();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_refuse_truncate();
CREATE TRIGGER unmatched_search_events_delete_behind_anchor AFTER DELETE ON unmatched_search_events
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION unmatched_search_events_guard_delete();
CREATE TRIGGER unmatched_search_events_no_truncate BEFORE TRUNCATE ON unmatched_search_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_refuse_truncate();
