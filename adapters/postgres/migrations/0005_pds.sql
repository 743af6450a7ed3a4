-- PDS re-checks (docs/domain.md §6, inactive NHS numbers): every held NHS number, and when PDS should next
-- confirm that it is still current. The job leases due rows, so several instances share the work.

CREATE TABLE pds_rechecks (
  nhs_number      char(10) PRIMARY KEY,
  -- NULL: newly held (just verified on upload, if PDS was on); the job schedules it one interval ahead.
  next_check_at   timestamptz,
  -- An instance is checking the number until then; a crashed instance's lease simply runs out.
  leased_until    timestamptz,
  last_checked_at timestamptz
);
CREATE INDEX pds_rechecks_due ON pds_rechecks (next_check_at);
CREATE INDEX pds_rechecks_unscheduled ON pds_rechecks (nhs_number) WHERE next_check_at IS NULL;

INSERT INTO pds_rechecks (nhs_number) SELECT DISTINCT nhs_number FROM plans ON CONFLICT DO NOTHING;

-- Once per statement, however many plans a batch inserts. In NHS-number order, so that two LAs'
-- uploads naming the same children wait for each other's new rows in one order and cannot deadlock.
CREATE FUNCTION track_held_nhs_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pds_rechecks (nhs_number)
  SELECT DISTINCT nhs_number FROM new_plans ORDER BY nhs_number
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER plans_track_nhs_numbers AFTER INSERT ON plans
  REFERENCING NEW TABLE AS new_plans
  FOR EACH STATEMENT EXECUTE FUNCTION track_held_nhs_numbers();
