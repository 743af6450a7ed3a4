-- The hash chains' cost per row (README, Performance). Measured with pgbench on PostgreSQL 15, two
-- clients, INSERTs of 20 audit rows each: 620-860 statements a second before this migration, 1,060-1,120
-- after (single-row INSERTs: no change beyond noise). Two causes; the chain itself (lanes, seq, hashes,
-- the bytes hashed) is unchanged, so rows written before and after verify alike:
--
-- 1. The canonical functions were SQL functions taking a row. Called from PL/pgSQL they cannot be
--    inlined, and their body was parsed and planned again on every call. As PL/pgSQL functions their
--    plan is kept for the session. Same expression, same bytes.
-- 2. Every row locked and updated its lane's head row, so a group of rows left a chain of row versions
--    that each next row walked. Now the first row of a statement locks the lane's head as before; each
--    row leaves the head it made in a transaction-local setting for the next row of the same statement;
--    one UPDATE per statement (an AFTER STATEMENT trigger) writes the head back. The lane stays locked
--    from the first row to commit, as before, so nothing else can see or take it meanwhile; a statement
--    that fails rolls the setting back with it. A BEFORE STATEMENT trigger clears the setting, so a
--    statement never takes over a head it did not make, and the next statement of the transaction reads
--    the head row its predecessor wrote.

CREATE OR REPLACE FUNCTION audit_chain_canonical(e audit_events) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN convert_to(
    audit_chain_field('cpis-audit/1') || audit_chain_field(e.lane::text) || audit_chain_field(e.seq::text) ||
    audit_chain_field(e.id::text) ||
    audit_chain_field(to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
    audit_chain_field(e.action) || audit_chain_field(e.outcome) || audit_chain_field(e.user_id) ||
    audit_chain_field(e.user_name) || audit_chain_field(e.user_role) || audit_chain_field(e.organisation_code) ||
    audit_chain_field(e.organisation_name) || audit_chain_field(e.setting) || audit_chain_field(e.nhs_number::text) ||
    audit_chain_field(e.unscheduled::text) || audit_chain_field(e.request_id) || audit_chain_field(e.detail::text),
    'UTF8');
END
$$;

CREATE OR REPLACE FUNCTION unmatched_search_canonical(e unmatched_search_events) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN convert_to(
    audit_chain_field('cpis-unmatched-search/1') || audit_chain_field(e.lane::text) || audit_chain_field(e.seq::text) ||
    audit_chain_field(e.id::text) ||
    audit_chain_field(to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
    audit_chain_field(e.action) || audit_chain_field(e.outcome) || audit_chain_field(e.user_id) ||
    audit_chain_field(e.user_name) || audit_chain_field(e.user_role) || audit_chain_field(e.organisation_code) ||
    audit_chain_field(e.organisation_name) || audit_chain_field(e.setting) || audit_chain_field(e.nhs_number::text) ||
    audit_chain_field(e.unscheduled::text) || audit_chain_field(e.request_id) || audit_chain_field(e.detail::text),
    'UTF8');
END
$$;

-- As in 0013, with the head carried from row to row (point 2).
CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  carried text[] := string_to_array(nullif(current_setting('cpis.audit_head', true), ''), '|');
  held smallint;
  first integer;
  head record;
BEGIN
  IF carried IS NOT NULL THEN
    -- A later row of the same statement: the head the row before it left, on a lane this transaction holds.
    SELECT carried[1]::smallint AS lane, carried[2]::bigint AS seq, decode(carried[3], 'hex') AS hash, carried[4]::timestamptz AS recorded_at INTO head;
  ELSE
    held := nullif(current_setting('cpis.audit_lane', true), '')::smallint;
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
  PERFORM set_config('cpis.audit_head', concat_ws('|', NEW.lane, NEW.seq, encode(NEW.hash, 'hex'), NEW.recorded_at), true);
  RETURN NEW;
END
$$;

-- As in 0013, with the head carried from row to row (point 2).
CREATE OR REPLACE FUNCTION unmatched_search_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lanes CONSTANT integer := 64;
  carried text[] := string_to_array(nullif(current_setting('cpis.unmatched_search_head', true), ''), '|');
  held smallint;
  first integer;
  head record;
BEGIN
  IF carried IS NOT NULL THEN
    -- A later row of the same statement: the head the row before it left, on a lane this transaction holds.
    SELECT carried[1]::smallint AS lane, carried[2]::bigint AS seq, decode(carried[3], 'hex') AS hash, carried[4]::timestamptz AS recorded_at INTO head;
  ELSE
    held := nullif(current_setting('cpis.unmatched_search_lane', true), '')::smallint;
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
  END IF;
  NEW.lane := head.lane;
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.recorded_at := greatest(clock_timestamp(), head.recorded_at);
  NEW.hash := sha256(head.hash || unmatched_search_canonical(NEW));
  PERFORM set_config('cpis.unmatched_search_head', concat_ws('|', NEW.lane, NEW.seq, encode(NEW.hash, 'hex'), NEW.recorded_at), true);
  RETURN NEW;
END
$$;

CREATE FUNCTION audit_chain_statement_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cpis.audit_head', '', true);
  RETURN NULL;
END
$$;

CREATE FUNCTION audit_chain_statement_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  carried text[] := string_to_array(nullif(current_setting('cpis.audit_head', true), ''), '|');
BEGIN
  IF carried IS NOT NULL THEN
    UPDATE audit_chain_heads SET seq = carried[2]::bigint, hash = decode(carried[3], 'hex'), recorded_at = carried[4]::timestamptz
    WHERE lane = carried[1]::smallint;
    PERFORM set_config('cpis.audit_head', '', true);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION unmatched_search_chain_statement_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cpis.unmatched_search_head', '', true);
  RETURN NULL;
END
$$;

CREATE FUNCTION unmatched_search_chain_statement_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  carried text[] := string_to_array(nullif(current_setting('cpis.unmatched_search_head', true), ''), '|');
BEGIN
  IF carried IS NOT NULL THEN
    UPDATE unmatched_search_chain_heads SET seq = carried[2]::bigint, hash = decode(carried[3], 'hex'), recorded_at = carried[4]::timestamptz
    WHERE lane = carried[1]::smallint;
    PERFORM set_config('cpis.unmatched_search_head', '', true);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_chain_start BEFORE INSERT ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_statement_start();
CREATE TRIGGER audit_events_chain_end AFTER INSERT ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_statement_end();
CREATE TRIGGER unmatched_search_events_chain_start BEFORE INSERT ON unmatched_search_events
  FOR EACH STATEMENT EXECUTE FUNCTION unmatched_search_chain_statement_start();
CREATE TRIGGER unmatched_search_events_chain_end AFTER INSERT ON unmatched_search_events
  FOR EACH STATEMENT EXECUTE FUNCTION unmatched_search_chain_statement_end();
