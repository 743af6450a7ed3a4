import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** A phone number as people read it (national form, "0113 496 0999") and as machines dial it (E.164, "+441134960999"). */
export type Phone = { national: string; e164: string };

const UK_CALLING_CODE = '44';
// Formatting a stored number costs tens of microseconds and lookups format every LA they show: a
// few hundred LAs' numbers are remembered. Bounded all the same, in case of a very long-lived process.
const MAX_REMEMBERED = 10_000;
const formatted = new Map<string, Phone>();

/**
 * A number of the UK numbering plan (+44) that libphonenumber-js, with its full metadata, says can
 * exist; written nationally ("0113 496 0999") or internationally ("+44 113 496 0999"). An extension
 * is refused: no one can dial it from the E.164 form held.
 */
export function parseUkPhone(text: string): Phone | undefined {
  const parsed = parsePhoneNumberFromString(text, 'GB');
  if (!parsed || !parsed.isValid() || parsed.countryCallingCode !== UK_CALLING_CODE || parsed.ext) return undefined;
  return { national: parsed.formatNational(), e164: parsed.number };
}

/** A held E.164 number in both forms. A number the library cannot read is shown as it is held, never hidden. */
export function phoneFromE164(e164: string): Phone {
  let phone = formatted.get(e164);
  if (!phone) {
    const parsed = parsePhoneNumberFromString(e164);
    phone = { national: parsed ? parsed.formatNational() : e164, e164 };
    if (formatted.size >= MAX_REMEMBERED) formatted.clear();
    formatted.set(e164, phone);
  }
  return phone;
}
