import { describe, expect, it } from 'vitest';
import { checkDigitOf, checkNhsNumber, isValidNhsNumber } from '../../src/domain/nhs-number.ts';

describe('NHS number (docs/domain.md §4)', () => {
  it('accepts the published valid examples', () => {
    expect(isValidNhsNumber('9434765919')).toBe(true);
    expect(isValidNhsNumber('4857773457')).toBe(true);
  });

  it('rejects a wrong check digit', () => {
    expect(checkNhsNumber('4857773456')).toEqual({ ok: false, reason: 'checksum' });
  });

  it('normalises spaces and dashes to ten plain digits', () => {
    expect(checkNhsNumber('943 476 5919')).toEqual({ ok: true, value: '9434765919' });
    expect(checkNhsNumber('943-476-5919')).toEqual({ ok: true, value: '9434765919' });
  });

  it('rejects every repeated-digit number even though each passes Modulus 11', () => {
    for (let d = 0; d <= 9; d++) {
      const n = String(d).repeat(10);
      expect(checkNhsNumber(n)).toEqual({ ok: false, reason: 'repeated-digits' });
    }
  });

  it('treats check digit 10 as invalid and 11 as 0', () => {
    // 000000006: weighted sum 12, 12 mod 11 = 1, 11 - 1 = 10: no valid check digit exists.
    expect(checkDigitOf('000000006')).toBe(undefined);
    expect(checkNhsNumber('0000000060').ok).toBe(false);
    // 010000001: weighted sum 9 + 2 = 11, 11 mod 11 = 0, 11 - 0 = 11, which becomes 0.
    expect(checkDigitOf('010000001')).toBe(0);
    expect(checkNhsNumber('0100000010')).toEqual({ ok: true, value: '0100000010' });
  });

  it('tells old-style alphanumeric numbers apart from malformed ones', () => {
    expect(checkNhsNumber('ABC1234567')).toEqual({ ok: false, reason: 'old-style' });
    expect(checkNhsNumber('12345')).toEqual({ ok: false, reason: 'format' });
    expect(checkNhsNumber('94347659190')).toEqual({ ok: false, reason: 'format' });
  });
});
