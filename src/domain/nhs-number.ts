/** Outcome of checking a supplied NHS number (docs/domain.md §4). */
export type NhsNumberCheck =
  | { ok: true; value: string }
  | { ok: false; reason: 'format' | 'old-style' | 'checksum' | 'repeated-digits' };

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** The Modulus 11 check digit for nine digits, or undefined when the number cannot be valid. */
export function checkDigitOf(nineDigits: string): number | undefined {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nineDigits.charCodeAt(i) - 48) * (WEIGHTS[i] as number);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return undefined;
  return check;
}

/** Normalises spaces and dashes away, then applies the Modulus 11 and repeated-digit rules. */
export function checkNhsNumber(input: string): NhsNumberCheck {
  const value = input.trim().replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(value)) {
    // Pre-1996 numbers mixed letters and digits (e.g. "ABC 123 4567"): CPR04, not a typo.
    return /^[A-Za-z]{1,4}\d{3,10}$/.test(value) ? { ok: false, reason: 'old-style' } : { ok: false, reason: 'format' };
  }
  if (/^(\d)\1{9}$/.test(value)) return { ok: false, reason: 'repeated-digits' };
  if (checkDigitOf(value.slice(0, 9)) !== Number(value[9])) return { ok: false, reason: 'checksum' };
  return { ok: true, value };
}

/** True when the input is a valid NHS number once spaces and dashes are removed. */
export function isValidNhsNumber(input: string): boolean {
  return checkNhsNumber(input).ok;
}
