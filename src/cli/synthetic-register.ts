import { checkDigitOf } from '../domain/nhs-number.ts';
import { londonDateOf, type IsoDate } from '../domain/dates.ts';
import type { UploadRecord } from '../domain/plan-record.ts';

/**
 * A deterministic synthetic register: the same options always give the same records, so the seed
 * script, the traffic simulator and the benchmarks agree on which NHS numbers exist where.
 * Everything is fictional; 999-range NHS numbers are never issued to patients.
 */

/** A demo LA: Ofcom drama-range phone numbers, a fictional name, and where its children live. */
export type DemoLa = { code: string; name: string; officeHoursPhone: string; edtPhone: string; town: string; postcodeArea: string };

/**
 * The LAs `npm run seed` creates. Their codes are the register's own (DEMO01…), never the README's
 * LA001, so seeding after the README's "Try it" leaves that LA and its child as they were.
 */
export const DEMO_LAS: readonly DemoLa[] = Object.freeze([
  { code: 'DEMO01', name: 'Airedale Vale Council', officeHoursPhone: '0113 496 0100', edtPhone: '0113 496 0999', town: 'Airedale', postcodeArea: 'LS' },
  { code: 'DEMO02', name: 'London Borough of Northgate', officeHoursPhone: '020 7946 0200', edtPhone: '020 7946 0999', town: 'Northgate', postcodeArea: 'N' },
  { code: 'DEMO03', name: 'Brindleford City Council', officeHoursPhone: '0121 496 0300', edtPhone: '0121 496 0999', town: 'Brindleford', postcodeArea: 'B' },
  { code: 'DEMO04', name: 'Irwell Moss Metropolitan Borough Council', officeHoursPhone: '0161 496 0400', edtPhone: '0161 496 0999', town: 'Irwell Moss', postcodeArea: 'M' },
  { code: 'DEMO05', name: 'Severnmouth Council', officeHoursPhone: '0117 496 0500', edtPhone: '0117 496 0999', town: 'Severnmouth', postcodeArea: 'BS' },
]);

/** Each LA owns this many NHS-number counters, so LAs never share a number within one seed layout. */
export const NUMBERS_PER_LA = 100_000;

/**
 * The register starts at 999 001 000x: the numbers 999 000 000x to 999 000 999x are left to the
 * README and hand-written examples (999 000 0018 is the README's "Try it" child), so no seeded plan
 * ever lands on one of them.
 */
export const FIRST_SYNTHETIC_STEM = 1_000;

// The valid 999-range numbers in order from FIRST_SYNTHETIC_STEM, grown on demand: counter n is the n-th of them.
const validStems: number[] = [];
let nextStem = FIRST_SYNTHETIC_STEM;

/** The n-th valid NHS number of the 999 range from 999 001 000x (about 908,000 exist); distinct n give distinct numbers. */
export function syntheticNhsNumber(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('counter must be a non-negative integer');
  while (validStems.length <= n) {
    if (nextStem > 999_999) throw new RangeError(`only ${validStems.length} synthetic NHS numbers exist`);
    const nine = `999${String(nextStem).padStart(6, '0')}`;
    const check = checkDigitOf(nine);
    if (check !== undefined && `${nine}${check}` !== '9999999999') validStems.push(nextStem);
    nextStem++;
  }
  const nine = `999${String(validStems[n]).padStart(6, '0')}`;
  return `${nine}${checkDigitOf(nine)}`;
}

/** The counter of record k of LA laIndex: LA i uses i*100000 onwards. */
export const counterOf = (laIndex: number, k: number): number => laIndex * NUMBERS_PER_LA + k;

/** Record k of an LA's register uses the NHS number syntheticNhsNumber(counterOf(laIndex, k)). */
export const nhsNumberOf = (laIndex: number, k: number): string => syntheticNhsNumber(counterOf(laIndex, k));

/** The LA code for an index: the demo LA's, or DEMO06… beyond them (the benchmarks' further LAs). */
export const laCodeOf = (laIndex: number): string => DEMO_LAS[laIndex]?.code ?? `DEMO${String(laIndex + 1).padStart(2, '0')}`;

export type SyntheticRecord = UploadRecord;

export type SyntheticOptions = {
  laIndex: number;
  count: number;
  seed: number;
  /** First record index (default 0), so a register can be generated in slices. */
  start?: number;
  /**
   * The date the register is "as of". Defaults to 1 January of the current year in England, so that
   * reseeding within a year sends the same plan keys (LA + NHS number + type + start date) and
   * updates the same plans; every child is still under 18 on any day of that year.
   */
  asOf?: IsoDate;
};

/** mulberry32: tiny, fast and good enough for test data; never for anything secret. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// Seeding per record lets a simulator regenerate record k alone, without the k records before it.
function recordSeed(seed: number, laIndex: number, k: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(laIndex + 1, 0xc2b2ae35) ^ Math.imul(k + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 13)) >>> 0;
}

const DAY = 86_400_000;
const toDay = (d: IsoDate): number => Date.parse(`${d}T00:00:00Z`) / DAY;
const fromDay = (n: number): IsoDate => new Date(n * DAY).toISOString().slice(0, 10);

const FAMILY = [
  'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson', 'Wright',
  'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Khan', 'Hughes',
  'Edwards', 'Lewis', 'Ali', 'Murphy', "O'Brien", 'Kowalski', 'Okafor', 'Nguyen', 'Hussain', 'Begum', 'Campbell',
];
const CHILD = [
  'Oliver', 'Amelia', 'George', 'Isla', 'Noah', 'Ava', 'Arthur', 'Mia', 'Leo', 'Ivy', 'Muhammad', 'Freya', 'Harry',
  'Lily', 'Oscar', 'Florence', 'Archie', 'Sophia', 'Jack', 'Willow', 'Theo', 'Grace', 'Alfie', 'Ella', 'Jacob',
  'Evie', 'Finley', 'Poppy', 'Charlie', 'Aisha', 'Zara', 'Kai', 'Reuben', 'Maya',
];
const ADULT = ['Sarah', 'Emma', 'Laura', 'Rebecca', 'Charlotte', 'Hannah', 'Jessica', 'Amy', 'Gemma', 'Natalie', 'Chloe', 'Fatima', 'Agnieszka', 'Chidinma', 'Shannon', 'Leanne'];
const STREETS = ['Mill', 'Church', 'Station', 'Park', 'Victoria', 'Albert', 'Chapel', 'Queen', 'Meadow', 'Orchard', 'Beech', 'Canal', 'Moor', 'Springfield'];
const SUFFIXES = ['Street', 'Road', 'Lane', 'Close', 'Avenue', 'Terrace', 'Court', 'Drive', 'Way', 'Gardens'];
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

/** Record k of LA laIndex: pure, so it can be regenerated on its own. */
export function syntheticRecord(laIndex: number, k: number, seed: number, asOf: IsoDate = defaultAsOf()): SyntheticRecord {
  const r = prng(recordSeed(seed, laIndex, k));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const la = DEMO_LAS[laIndex % DEMO_LAS.length] as DemoLa;
  const today = toDay(asOf);
  const u = r();
  const planType = u < 0.5 ? 'CPP' : u < 0.9 ? 'LAC' : 'UCPP';

  let birth: number;
  let start: number;
  let givenNames: string;
  if (planType === 'UCPP') {
    // The record is the expectant mother's: an adult, with a plan made during the pregnancy.
    birth = today - Math.floor(18 * 366 + r() * 22 * 365);
    start = today - Math.floor(r() * 240);
    givenNames = pick(ADULT);
  } else {
    // At most 17×365 days old on asOf, so still under 18 on every day of the following year.
    birth = today - Math.floor(30 + r() * (17 * 365 - 35));
    const earliest = Math.max(birth, today - 4 * 365);
    start = earliest + Math.floor(r() * (today - earliest + 1));
    givenNames = r() < 0.4 ? `${pick(CHILD)} ${pick(CHILD)}` : pick(CHILD);
  }
  const record: SyntheticRecord = {
    nhsNumber: nhsNumberOf(laIndex, k),
    familyName: pick(FAMILY),
    givenNames,
    birthDate: fromDay(birth),
    planType,
    startDate: fromDay(start),
  };
  if (r() < 0.95) {
    const letter = () => INWARD_LETTERS[Math.floor(r() * INWARD_LETTERS.length)];
    const inward = `${Math.floor(r() * 10)}${letter()}${letter()}`;
    record.postcode = `${la.postcodeArea}${1 + Math.floor(r() * 28)} ${inward}`;
  }
  if (r() < 0.9) record.addressLines = [`${1 + Math.floor(r() * 180)} ${pick(STREETS)} ${pick(SUFFIXES)}`, la.town];
  if (planType === 'LAC') {
    const s = r();
    record.lacLegalStatus = s < 0.5 ? 'S31' : s < 0.85 ? 'S20' : 'S38';
  }
  // About one plan in eight ended recently: visible but inactive.
  if (r() < 0.12) record.endDate = fromDay(Math.max(start, today - Math.floor(r() * 180)));
  record.localId = `${laCodeOf(laIndex)}-${String(k).padStart(6, '0')}`;
  return record;
}

/** 1 January of the current year in England. */
export function defaultAsOf(): IsoDate {
  return `${londonDateOf(new Date()).slice(0, 4)}-01-01`;
}

/** The register of one LA, generated lazily so that any size streams in bounded memory. */
export function* syntheticRecords(options: SyntheticOptions): Generator<SyntheticRecord> {
  const asOf = options.asOf ?? defaultAsOf();
  const start = options.start ?? 0;
  for (let k = start; k < start + options.count; k++) yield syntheticRecord(options.laIndex, k, options.seed, asOf);
}

/** NDJSON in chunks of about chunkBytes, for streaming a request body without holding all of it. */
export function* ndjsonChunks(records: Iterable<SyntheticRecord>, chunkBytes = 64 * 1024): Generator<Buffer> {
  let text = '';
  for (const record of records) {
    text += `${JSON.stringify(record)}\n`;
    if (text.length >= chunkBytes) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}
