-- Data quality for LAs (issue 16, item 3): the refusals worklist and dry runs of uploads.
--
-- upload_refusals keeps, per batch, the codes and field names of every refused record and nothing of
-- its contents. An LA fixing its data wants the other view: which of its children are still refused,
-- whatever batch last said so. refused_records holds one row per LA and refused NHS number (only
-- numbers that were themselves valid: a record whose NHS number is unusable stays visible per batch
-- only), with the latest refusal and when the number was first and last refused (batch times). The
-- batch's commit transaction upserts it, and removes the rows of numbers the batch loaded or deleted a
-- plan of without refusing any record of them. Rows of numbers never sent again age out after
-- REFUSAL_RETENTION_DAYS (the retention job). Nothing but the NHS number, codes and field names.

CREATE TABLE refused_records (
  la_code        text NOT NULL,
  nhs_number     char(10) NOT NULL,
  result         text NOT NULL,
  code           text NOT NULL,
  field          text NOT NULL,
  message        text NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  last_upload_id uuid NOT NULL,
  -- The record's index in that batch: with last_upload_id, where the LA finds what it sent.
  last_index     integer NOT NULL,
  PRIMARY KEY (la_code, nhs_number)
);
CREATE INDEX refused_records_by_age ON refused_records (last_seen_at);

-- The NHS numbers of a batch's refused records while it is being received (unlogged, like
-- upload_staging: the commit checks every row is still here), joined at commit with upload_refusals
-- by index. Kept apart from upload_refusals so that the lasting per-batch pages hold no NHS number.
CREATE UNLOGGED TABLE upload_refused_staging (
  batch      bigint NOT NULL,
  idx        integer NOT NULL,
  nhs_number char(10) NOT NULL
);
CREATE INDEX upload_refused_staging_by_batch ON upload_refused_staging (batch);

-- A dry run (POST /la/v1/uploads?dryRun=true) is read and checked like an upload, and stages its valid
-- records (the one-identity check compares them with the plans held) under a key of its own, drawn from
-- the same sequence as the upload slots' keys. It holds a slot of this table, not the LA's upload slot:
-- it never waits for, or holds up, the LA's real uploads, and an LA runs one dry run at a time. A
-- holder that died leaves a slot that expires, and the LA's next dry run clears what it staged.
CREATE TABLE upload_dry_run_slots (
  la_code    text PRIMARY KEY,
  upload_id  uuid NOT NULL,
  batch      bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
