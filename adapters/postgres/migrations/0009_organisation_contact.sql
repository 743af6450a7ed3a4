-- Numbers that ring and hours that hold (issue 11).
--
-- Phones are now checked as UK numbers (libphonenumber-js) when an LA sets them, and held in E.164
-- ("+441134960999"); answers give the national form beside it. Numbers set before this were only
-- checked for their characters: they are rewritten to E.164 by the trunk-prefix rule (0113 496 0999
-- becomes +441134960999, 00 becomes +), never dropped, and checked properly at the LA's next PUT.
CREATE FUNCTION pg_temp.e164_of(phone text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  WITH d AS (SELECT regexp_replace(phone, '[^0-9]', '', 'g') AS digits)
  SELECT CASE
    WHEN phone IS NULL THEN NULL
    WHEN btrim(phone) LIKE '+%' THEN '+' || regexp_replace(digits, '^440', '44')  -- "+44 (0)113 …"
    WHEN digits LIKE '00%' THEN '+' || substr(digits, 3)
    WHEN digits LIKE '0%' THEN '+44' || substr(digits, 2)
    ELSE '+44' || digits
  END FROM d
$$;

UPDATE organisations SET office_hours_phone = pg_temp.e164_of(office_hours_phone), edt_phone = pg_temp.e164_of(edt_phone)
WHERE office_hours_phone IS NOT NULL OR edt_phone IS NOT NULL;
DROP FUNCTION pg_temp.e164_of(text);

-- New numbers are written in E.164 only; rows rewritten above are not re-checked, so that an odd old
-- number never stops the service from starting.
ALTER TABLE organisations ADD CONSTRAINT organisations_phones_e164
  CHECK (office_hours_phone ~ '^\+[1-9][0-9]{5,14}$' AND edt_phone ~ '^\+[1-9][0-9]{5,14}$') NOT VALID;

-- Office hours per day of the week: { timeZone, days: { mon: { opens, closes } | null, … } }, or
-- { timeZone, staffed: "24/7" }. The old shape { timeZone, days: [..], opens, closes } gave the same
-- hours to each listed day. Hours whose opening was not before their closing were never in hours
-- (the old rule): they become closed days, which is what they meant in effect.
UPDATE organisations SET office_hours = jsonb_build_object(
  'timeZone', office_hours->>'timeZone',
  'days', (
    SELECT jsonb_object_agg(day, CASE
      WHEN office_hours->'days' ? day AND (office_hours->>'opens') COLLATE "C" < (office_hours->>'closes') COLLATE "C"
        THEN jsonb_build_object('opens', office_hours->>'opens', 'closes', office_hours->>'closes')
      ELSE 'null'::jsonb END)
    FROM unnest(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) AS day))
WHERE jsonb_typeof(office_hours->'days') = 'array';
