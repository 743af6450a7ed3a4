-- The register: LAs, their plans, and the batches that published them (docs/domain.md §1, §2, §6).

CREATE TABLE organisations (
  code               text PRIMARY KEY,
  name               text NOT NULL,
  office_hours_phone text,
  edt_phone          text,
  office_hours       jsonb NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  la_code          text NOT NULL REFERENCES organisations (code),
  nhs_number       char(10) NOT NULL,
  plan_type        text NOT NULL CHECK (plan_type IN ('CPP', 'LAC', 'UCPP')),
  start_date       date NOT NULL,
  end_date         date,
  delete_date      date,
  lac_legal_status text CHECK (lac_legal_status IN ('S31', 'S38', 'S20')),
  family_name      text NOT NULL,
  given_names      text NOT NULL,
  birth_date       date NOT NULL,
  postcode         text,
  address_lines    text[] NOT NULL DEFAULT '{}',
  local_id         text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT plans_upsert_key UNIQUE (la_code, nhs_number, plan_type, start_date),
  CONSTRAINT plans_lac_status CHECK ((plan_type = 'LAC') = (lac_legal_status IS NOT NULL))
);

CREATE INDEX plans_by_nhs_number ON plans (nhs_number);

CREATE TABLE uploads (
  id              uuid PRIMARY KEY,
  la_code         text NOT NULL REFERENCES organisations (code),
  sequence_number bigint NOT NULL,
  received_at     timestamptz NOT NULL,
  uploaded_by     text NOT NULL,
  result          text NOT NULL,
  processed       integer NOT NULL,
  loaded          integer NOT NULL,
  rejected        integer NOT NULL,
  acknowledgement jsonb NOT NULL,
  CONSTRAINT uploads_sequence UNIQUE (la_code, sequence_number)
);
