-- Verification is a recorded fact (issue 11, item 5).
--
-- Each plan records when its demographics were last confirmed by PDS; null: never checked (loaded with
-- PDS_MODE=off, or before this was recorded). A plan that PDS did not confirm is never held, so these
-- are the only two states. Clinicians see it as the UK Core NHS number verification status, LAs in their
-- extract.
ALTER TABLE plans ADD COLUMN pds_verified_at timestamptz;
ALTER TABLE upload_staging ADD COLUMN pds_verified_at timestamptz;

-- Facts about the whole deployment, one row each, that every instance must share. pds_mode: whether
-- uploads are cross-checked against PDS; an instance configured otherwise refuses to start, because
-- two instances checking differently would hold verified and unverified flags side by side unseen.
CREATE TABLE deployment_settings (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
