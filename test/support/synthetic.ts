import { randomInt } from 'node:crypto';
import { checkDigitOf } from '../../src/domain/nhs-number.ts';

// A random start, then a counter: numbers never repeat within one test process.
let next = randomInt(0, 900_000);

/** A fresh valid NHS number in the 999 range, never issued to patients. */
export function syntheticNhsNumber(): string {
  for (;;) {
    next = (next + 1) % 1_000_000;
    const nine = `999${String(next).padStart(6, '0')}`;
    const check = checkDigitOf(nine);
    if (check !== undefined && !/^(\d)\1{9}$/.test(`${nine}${check}`)) return `${nine}${check}`;
  }
}

/** A 999-range number whose check digit is wrong. */
export function badChecksumNhsNumber(): string {
  const good = syntheticNhsNumber();
  return `${good.slice(0, 9)}${(Number(good[9]) + 1) % 10}`;
}

/** A fresh LA code so that no two tests share an LA. */
export function syntheticLaCode(): string {
  return `T${randomInt(0, 36 ** 6).toString(36).toUpperCase().padStart(6, '0')}`;
}

// Ofcom's drama ranges (https://www.ofcom.org.uk/phones-and-broadband/phone-numbers/numbers-for-drama) that
// libphonenumber-js takes as valid UK numbers: not 01632 960xxx, nor 0115 496 0xxx, which it refuses.
const DRAMA_BLOCKS = ['0113 496 0', '0114 496 0', '0116 496 0', '0117 496 0', '0118 496 0', '0121 496 0', '0131 496 0', '0141 496 0', '0151 496 0', '0161 496 0', '0191 498 0', '020 7946 0'];
let nextPhone = randomInt(0, DRAMA_BLOCKS.length * 1000);

/** A fresh valid UK phone number from a drama range, in national form; numbers do not repeat within one test process. */
export function syntheticPhone(): string {
  nextPhone = (nextPhone + 1) % (DRAMA_BLOCKS.length * 1000);
  return `${DRAMA_BLOCKS[Math.floor(nextPhone / 1000)]}${String(nextPhone % 1000).padStart(3, '0')}`;
}

/** The E.164 form of a national UK number: 0113 496 0999 → +441134960999. */
export const e164Of = (national: string) => `+44${national.replace(/\D/g, '').slice(1)}`;

/** A date as YYYY-MM-DD, some years and days before today. */
export function yearsAgo(years: number, days = 0): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

export type RecordInput = Record<string, unknown>;

/** A valid CPP record for a child of about eight. */
export function childRecord(overrides: RecordInput = {}): RecordInput {
  return {
    nhsNumber: syntheticNhsNumber(),
    familyName: 'Testchild',
    givenNames: 'Alex Sam',
    birthDate: yearsAgo(8),
    postcode: 'LS1 4AP',
    addressLines: ['1 Example Street', 'Leeds'],
    planType: 'CPP',
    startDate: yearsAgo(1),
    ...overrides,
  };
}
