import { describe, expect, it } from 'vitest';
import { parseUkPhone, phoneFromE164 } from '../../src/domain/uk-phone.ts';

describe('UK phone numbers (libphonenumber-js)', () => {
  it('reads national and international forms, and gives both forms back', () => {
    for (const text of ['0113 496 0999', '01134960999', '(0113) 496-0999', '+44 113 496 0999', '+44 (0)113 496 0999']) {
      expect(parseUkPhone(text)).toEqual({ national: '0113 496 0999', e164: '+441134960999' });
    }
    expect(parseUkPhone('020 7946 0000')).toEqual({ national: '020 7946 0000', e164: '+442079460000' });
    expect(parseUkPhone('0300 123 4567')).toEqual({ national: '0300 123 4567', e164: '+443001234567' });
  });

  it('refuses numbers that cannot exist, other countries\' numbers and extensions', () => {
    // Ofcom's drama range 01632 960xxx is not a number libphonenumber-js accepts; 0113 496 0xxx is.
    for (const text of ['01632 960000', '0113 496 099', '999', 'call us', '', '+33 1 23 45 67 89', '0113 496 0999 ext 12']) {
      expect(parseUkPhone(text)).toBeUndefined();
    }
  });

  it('formats a held E.164 number nationally, and shows one it cannot read as it is held', () => {
    expect(phoneFromE164('+441134960999')).toEqual({ national: '0113 496 0999', e164: '+441134960999' });
    expect(phoneFromE164('+4411349')).toEqual({ national: expect.any(String), e164: '+4411349' });
    expect(phoneFromE164('not a number')).toEqual({ national: 'not a number', e164: 'not a number' });
  });
});
