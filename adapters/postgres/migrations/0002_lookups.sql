-- Lookups by care settings: access history, per-LA notification outbox, audit trail (docs/domain.md §5, §7).

-- Unscheduled accesses to a visible plan: the history clinicians and LAs see (25 most recent shown).
CREATE TABLE accesses (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  nhs_number        char(10) NOT NULL,
  accessed_at       timestamptz NOT NULL,
  user_id           text NOT NULL,
  user_name         text NOT NULL,
  user_role         text NOT NULL,
  organisation_code text NOT NULL,
  organisation_name text NOT NULL,
  setting           text,
  request_id        text NOT NULL
);
CREATE INDEX accesses_history ON accesses (nhs_number, accessed_at DESC);
CREATE INDEX accesses_repeat ON accesses (user_id, nhs_number, accessed_at DESC);

-- The last event number handed out per LA; its row lock makes numbers contiguous across instances.
CREATE TABLE la_event_counters (
  la_code           text PRIMARY KEY,
  last_event_number bigint NOT NULL
);

-- The outbox: the truth about what each LA has been told. Delivery (poll, stream) reads from here.
CREATE TABLE notifications (
  la_code         text NOT NULL,
  event_number    bigint NOT NULL,
  type            text NOT NULL CHECK (type IN ('access', 'inactive-nhs-number', 'plan-ended-over-18')),
  occurred_at     timestamptz NOT NULL,
  nhs_number      char(10) NOT NULL,
  body            jsonb NOT NULL,
  acknowledged_at timestamptz,
  acknowledged_by text,
  PRIMARY KEY (la_code, event_number)
);
CREATE INDEX notifications_unacknowledged ON notifications (la_code) WHERE acknowledged_at IS NULL;

-- Every read and write that touches the register, found or not. Data, never logs.
CREATE TABLE audit_events (
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
  nhs_number        char(10),
  unscheduled       boolean,
  request_id        text NOT NULL,
  detail            jsonb
);
CREATE INDEX audit_events_by_nhs ON audit_events (nhs_number, recorded_at);

-- Next per-LA event number; the upsert's row lock serialises concurrent writers of one LA only.
CREATE FUNCTION next_event_number(p_la_code text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO la_event_counters AS c (la_code, last_event_number) VALUES (p_la_code, 1)
  ON CONFLICT (la_code) DO UPDATE SET last_event_number = c.last_event_number + 1
  RETURNING last_event_number
$$;

-- One unscheduled lookup that found visible plans, in one round trip and one transaction: audit it;
-- then, unless the same user saw the same child in the last 24 hours, record the access and queue
-- one notification per owning LA. Returns the LA codes and event numbers created (none on a repeat).
CREATE FUNCTION record_access(
  p_nhs_number text, p_at timestamptz, p_user_id text, p_user_name text, p_user_role text,
  p_org_code text, p_org_name text, p_setting text, p_request_id text, p_action text,
  p_notifications jsonb  -- [{ "laCode": "...", "body": { ... } }]
) RETURNS TABLE (la_code text, event_number bigint) LANGUAGE plpgsql AS $$
DECLARE
  n record;
  num bigint;
BEGIN
  INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
                            organisation_name, setting, nhs_number, unscheduled, request_id)
  VALUES (p_at, p_action, 'found', p_user_id, p_user_name, p_user_role, p_org_code, p_org_name, p_setting,
          p_nhs_number, true, p_request_id);
  -- Concurrent lookups of one child by one user must not both count as "first in 24 hours".
  PERFORM pg_advisory_xact_lock(hashtext('access:' || p_user_id || ':' || p_nhs_number));
  IF EXISTS (
    SELECT 1 FROM accesses a
    WHERE a.user_id = p_user_id AND a.nhs_number = p_nhs_number
      AND a.accessed_at > p_at - interval '24 hours' AND a.accessed_at <= p_at
  ) THEN
    RETURN;
  END IF;
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
END
$$;
