-- Live delivery: a wake-up on every outbox insert, and single-use stream tickets for browsers.

-- NOTIFY is only a wake-up, sent at commit; the notifications table stays the truth. Within one
-- transaction PostgreSQL folds identical payloads, so a burst for one LA wakes listeners once.
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cpis_outbox', NEW.la_code);
  RETURN NULL;
END
$$;

CREATE TRIGGER notifications_wake AFTER INSERT ON notifications
  FOR EACH ROW EXECUTE FUNCTION notify_outbox();

-- A ticket is stored only as its SHA-256; redeeming deletes it, so it works once, on any instance.
CREATE TABLE stream_tickets (
  ticket_hash bytea PRIMARY KEY,
  identity    jsonb NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX stream_tickets_expiry ON stream_tickets (expires_at);
