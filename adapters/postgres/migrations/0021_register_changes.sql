-- The register read model (issue 13; README, Performance): each instance keeps, in memory, what the
-- lookup path last read of recently looked-up NHS numbers (plans with their LAs), so that a lookup
-- does not read the register again. Whatever changes what that read returns must tell every instance
-- to forget: any statement on plans or organisations sends NOTIFY cpis_register at commit. The
-- instances hear it on the LISTEN connection they already hold for cpis_outbox; while that connection
-- is down they serve nothing from memory, and they forget everything when it comes back.
--
-- Statement-level triggers: an upload of a quarter of a million rows sends one notification per
-- statement, not per row, and PostgreSQL folds repeats of the same notification within a transaction.
-- A statement that changes nothing (an UPDATE matching no row) still notifies: forgetting too much
-- costs a read, never a wrong answer.

CREATE FUNCTION register_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cpis_register', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER plans_register_changed AFTER INSERT OR UPDATE OR DELETE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
CREATE TRIGGER plans_register_truncated AFTER TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
CREATE TRIGGER organisations_register_changed AFTER INSERT OR UPDATE OR DELETE ON organisations
  FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
CREATE TRIGGER organisations_register_truncated AFTER TRUNCATE ON organisations
  FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
