-- Who looked, in the LA's terms, and every new attendance reported (issue 11, items 6 and 7).
--
-- An access now records the national identity of the person when their token carries it (SDS user
-- id, SDS role profile id, national job role), and the 24-hour repeat rule is keyed on the user AND
-- the organisation AND the kind of setting: the same clinician at a second hospital, or moving from
-- the ED to a ward, is a new attendance, shown in the history and notified. Re-attendance at a second
-- site is itself a safeguarding signal.

ALTER TABLE accesses
  ADD COLUMN sds_user_id text,
  ADD COLUMN sds_role_profile_id text,
  ADD COLUMN job_role_code text,
  ADD COLUMN job_role_name text;

DROP INDEX accesses_repeat;
CREATE INDEX accesses_repeat ON accesses (user_id, nhs_number, organisation_code, accessed_at DESC);

DROP FUNCTION record_access(text, timestamptz, text, text, text, text, text, text, text, text, jsonb);

-- One unscheduled lookup that found visible plans, in one round trip and one transaction: unless the
-- same user at the same organisation and setting saw the same child in the last 24 hours, record the
-- access and queue one notification per owning LA; then audit it (last, so the chain lane is held
-- only to commit). p_agent: { userId, userName, userRole, organisationCode, organisationName, setting,
-- sdsUserId, sdsRoleProfileId, jobRoleCode, jobRoleName }, the last four null when the token lacks them.
CREATE FUNCTION record_access(
  p_nhs_number text, p_at timestamptz, p_agent jsonb, p_request_id text, p_action text,
  p_notifications jsonb  -- [{ "laCode": "...", "body": { ... } }]
) RETURNS TABLE (la_code text, event_number bigint) LANGUAGE plpgsql AS $$
DECLARE
  n record;
  num bigint;
  v_user text := p_agent->>'userId';
  v_org text := p_agent->>'organisationCode';
  v_setting text := p_agent->>'setting';
BEGIN
  -- Concurrent lookups of one child by one user take turns here, so that exactly one counts as first.
  PERFORM pg_advisory_xact_lock(hashtext('access:' || v_user || ':' || p_nhs_number));
  -- No upper bound on the time: a lookup that took its time before the lock was granted must still
  -- see the access that the one granted first has just recorded, whatever their clocks said.
  IF NOT EXISTS (
    SELECT 1 FROM accesses a
    WHERE a.user_id = v_user AND a.nhs_number = p_nhs_number AND a.organisation_code = v_org
      AND a.setting IS NOT DISTINCT FROM v_setting AND a.accessed_at > p_at - interval '24 hours'
  ) THEN
    INSERT INTO accesses (nhs_number, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting,
                          request_id, sds_user_id, sds_role_profile_id, job_role_code, job_role_name)
    VALUES (p_nhs_number, p_at, v_user, p_agent->>'userName', p_agent->>'userRole', v_org, p_agent->>'organisationName', v_setting,
            p_request_id, p_agent->>'sdsUserId', p_agent->>'sdsRoleProfileId', p_agent->>'jobRoleCode', p_agent->>'jobRoleName');
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
                            organisation_name, setting, nhs_number, unscheduled, request_id, detail)
  VALUES (p_at, p_action, 'found', v_user, p_agent->>'userName', p_agent->>'userRole', v_org, p_agent->>'organisationName', v_setting,
          p_nhs_number, true, p_request_id,
          NULLIF(jsonb_strip_nulls(jsonb_build_object('sdsUserId', p_agent->'sdsUserId', 'sdsRoleProfileId', p_agent->'sdsRoleProfileId',
                                                      'jobRoleCode', p_agent->'jobRoleCode')), '{}'::jsonb));
END
$$;
