-- Group commit for unscheduled lookups (README, Performance): the accesses, notifications and audit
-- rows of many lookups in one call, so one transaction, one WAL flush and one NOTIFY at commit
-- (PostgreSQL lets only one transaction that notifies commit at a time, so per-lookup transactions
-- queued there one flush each). Each item is what record_access() of 0011 takes, and the rules are
-- the same, item by item, in the order given:
--   { "nhsNumber", "at", "agent": { ... as p_agent ... }, "requestId", "action",
--     "notifications": [{ "laCode", "body" }], "historyLimit" }
-- Returns one row per notification queued: the item's position (1-based), its LA and event number;
-- then, for each item with a historyLimit above 0, one row with the child's latest accesses as a JSON
-- array, newest first, read after this call's own accesses were written (so they are included).
-- Per-LA counters move once per call, by the number of notifications the call queues for that LA.
-- record_access() of 0011 stays: instances of the previous release call it during a rolling upgrade.
CREATE FUNCTION record_accesses(p_items jsonb)
RETURNS TABLE (item_position integer, notified_la text, notified_event bigint, history jsonb) LANGUAGE plpgsql AS $$
DECLARE
  k integer;
  it record;
  c record;
  top bigint;
  fresh integer[] := '{}';
BEGIN
  -- Every (user, child) lock first, in key order: two calls sharing pairs take them in one order,
  -- and none waits for one while holding an LA counter or an audit lane.
  FOR k IN SELECT DISTINCT hashtext('access:' || (e->'agent'->>'userId') || ':' || (e->>'nhsNumber'))
           FROM jsonb_array_elements(p_items) e ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(k);
  END LOOP;

  -- bpchar, as the column is: compared as text, the index would not be used (and no length, so nothing is cut short).
  FOR it IN SELECT i.ord::integer AS ord, (i.v->>'nhsNumber')::bpchar AS nhs, (i.v->>'at')::timestamptz AS at, i.v->'agent' AS agent,
                   i.v->>'requestId' AS request_id
            FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(v, ord) ORDER BY i.ord LOOP
    -- As in 0011: one access per user, organisation, setting and child in 24 hours; an earlier item
    -- of this call counts, since each statement here sees what the ones before it wrote.
    IF NOT EXISTS (
      SELECT 1 FROM accesses a
      WHERE a.user_id = it.agent->>'userId' AND a.nhs_number = it.nhs AND a.organisation_code = it.agent->>'organisationCode'
        AND a.setting IS NOT DISTINCT FROM it.agent->>'setting' AND a.accessed_at > it.at - interval '24 hours'
    ) THEN
      INSERT INTO accesses (nhs_number, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting,
                            request_id, sds_user_id, sds_role_profile_id, job_role_code, job_role_name)
      VALUES (it.nhs, it.at, it.agent->>'userId', it.agent->>'userName', it.agent->>'userRole', it.agent->>'organisationCode',
              it.agent->>'organisationName', it.agent->>'setting', it.request_id, it.agent->>'sdsUserId',
              it.agent->>'sdsRoleProfileId', it.agent->>'jobRoleCode', it.agent->>'jobRoleName');
      fresh := fresh || it.ord;
    END IF;
  END LOOP;

  -- In LA-code order, so two calls touching the same LAs take their counter locks in one order.
  FOR c IN SELECT n.v->>'laCode' AS code, count(*)::integer AS queued
           FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(v, ord), jsonb_array_elements(i.v->'notifications') n(v)
           WHERE i.ord = ANY (fresh) GROUP BY 1 ORDER BY 1 LOOP
    INSERT INTO la_event_counters AS x (la_code, last_event_number) VALUES (c.code, c.queued)
    ON CONFLICT (la_code) DO UPDATE SET last_event_number = x.last_event_number + c.queued
    RETURNING x.last_event_number INTO top;
    -- The LA's numbers for this call, top - queued + 1 .. top, in item order.
    RETURN QUERY
    WITH numbered AS (
      SELECT i.ord::integer AS ord, top - c.queued + row_number() OVER (ORDER BY i.ord) AS num,
             (i.v->>'at')::timestamptz AS at, (i.v->>'nhsNumber')::bpchar AS nhs, n.v->'body' AS body
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(v, ord), jsonb_array_elements(i.v->'notifications') n(v)
      WHERE i.ord = ANY (fresh) AND n.v->>'laCode' = c.code
    ), queued AS (
      INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
      SELECT c.code, numbered.num, 'access', numbered.at, numbered.nhs, numbered.body FROM numbered
    )
    SELECT numbered.ord, c.code, numbered.num, NULL::jsonb FROM numbered;
  END LOOP;

  -- The audit rows last, so the chain lane they take is held only to commit; in item order.
  INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
                            organisation_name, setting, nhs_number, unscheduled, request_id, detail)
  SELECT (i.v->>'at')::timestamptz, i.v->>'action', 'found', i.v->'agent'->>'userId', i.v->'agent'->>'userName',
         i.v->'agent'->>'userRole', i.v->'agent'->>'organisationCode', i.v->'agent'->>'organisationName', i.v->'agent'->>'setting',
         i.v->>'nhsNumber', true, i.v->>'requestId',
         NULLIF(jsonb_strip_nulls(jsonb_build_object('sdsUserId', i.v->'agent'->'sdsUserId', 'sdsRoleProfileId',
                i.v->'agent'->'sdsRoleProfileId', 'jobRoleCode', i.v->'agent'->'jobRoleCode')), '{}'::jsonb)
  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(v, ord) ORDER BY i.ord;

  RETURN QUERY
  SELECT i.ord::integer, NULL::text, NULL::bigint, COALESCE((
    SELECT jsonb_agg(to_jsonb(h) ORDER BY h.accessed_at DESC, h.id DESC) FROM (
      SELECT a.id, a.accessed_at, a.user_id, a.user_name, a.user_role, a.organisation_code, a.organisation_name, a.setting,
             a.sds_user_id, a.sds_role_profile_id, a.job_role_code, a.job_role_name
      FROM accesses a WHERE a.nhs_number = (i.v->>'nhsNumber')::bpchar
      ORDER BY a.accessed_at DESC, a.id DESC LIMIT (i.v->>'historyLimit')::integer) h), '[]'::jsonb)
  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(v, ord) WHERE (i.v->>'historyLimit')::integer > 0;
END
$$;
