-- Uploads that hold no connection while their client sends (issue: isolation of LA traffic).
--
-- An upload used to open its transaction, and take its LA's lock, before it read the body: a slow
-- client held a pooled connection for as long as it liked. Now the body is read with no connection
-- held. Valid records are staged, and refused ones recorded, in short writes of a chunk each; one
-- transaction at the end applies the staged plans and stores the acknowledgement.

-- One upload per LA at a time, across instances: the slot is held, and renewed, while the upload is
-- read; a second upload gets 429. A holder that died leaves a slot that expires, and the next upload
-- of the LA clears what that holder staged.
CREATE TABLE upload_slots (
  la_code    text PRIMARY KEY,
  upload_id  uuid NOT NULL,
  -- The short key of the upload's rows in upload_staging: a number in every staged row costs less than a uuid.
  batch      bigint GENERATED ALWAYS AS IDENTITY,
  expires_at timestamptz NOT NULL
);

-- Valid records of uploads still being read. Unlogged: nothing here is durable until the commit
-- copies it into plans (PostgreSQL empties the table after a crash, and a failover replica never has
-- it), so the commit checks that every staged row is still here before it applies any.
CREATE UNLOGGED TABLE upload_staging (
  batch            bigint NOT NULL,
  idx              integer NOT NULL,
  nhs_number       text NOT NULL,
  plan_type        text NOT NULL,
  start_date       date NOT NULL,
  end_date         date,
  delete_date      date,
  lac_legal_status text,
  family_name      text NOT NULL,
  given_names      text NOT NULL,
  birth_date       date NOT NULL,
  postcode         text,
  address_lines    text[] NOT NULL,
  local_id         text
);
CREATE INDEX upload_staging_by_batch ON upload_staging (batch);

-- Every refused record of a batch (codes and field names, no record contents). The acknowledgement
-- lists the first ACK_MAX_LISTED; GET /la/v1/uploads/{uploadId}/refusals pages through all of them.
-- Rows of an upload that never committed are cleared with its staging rows.
CREATE TABLE upload_refusals (
  upload_id uuid NOT NULL,
  idx       integer NOT NULL,
  result    text NOT NULL,
  code      text NOT NULL,
  field     text NOT NULL,
  message   text NOT NULL,
  PRIMARY KEY (upload_id, idx)
);
