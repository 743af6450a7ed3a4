-- Restarting an LA's batch numbering (issue 12, item 4). Sequence numbers only go up: an LA system that
-- sends 9007199254740991 by mistake (the largest the service takes) could never upload again. An
-- operator can restart its numbering (npm run sequence-restart): the LA's batches then belong to a new
-- series, which starts again at 1. Earlier series keep their acknowledgements, and the restart is
-- written to the audit trail; a batch resent from before the restart counts as a new batch of the new
-- series, which is why only an operator, asked by the LA, can do it.
ALTER TABLE uploads ADD COLUMN series integer NOT NULL DEFAULT 1;
ALTER TABLE uploads DROP CONSTRAINT uploads_sequence;
ALTER TABLE uploads ADD CONSTRAINT uploads_sequence UNIQUE (la_code, series, sequence_number);

-- The series an LA's batches belong to now; an LA without a row is in series 1.
CREATE TABLE upload_series (
  la_code      text PRIMARY KEY REFERENCES organisations (code),
  series       integer NOT NULL CHECK (series > 1),
  restarted_at timestamptz NOT NULL DEFAULT now()
);
