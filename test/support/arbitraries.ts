import fc from 'fast-check';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { addDays, addYears, londonDateOf } from '../../src/domain/dates.ts';
import { checkDigitOf } from '../../src/domain/nhs-number.ts';
import type { JsonResponse } from './service.ts';

// Arbitraries for the fuzz tests: valid synthetic plan records with the plan the service should
// then hold, and hostile variations that each break exactly one field, so that a property can
// say which records load, what is stored, and which field each refusal must name.

/** What the service should hold for a loaded record, as the plans table reads back. */
export type HeldPlan = {
  nhsNumber: string; planType: string; startDate: string; endDate: string | null; lacLegalStatus: string | null;
  familyName: string; givenNames: string; birthDate: string; postcode: string | null; addressLines: string[]; localId: string | null;
};

/** A valid record: its fields, and the plan it leaves (null when it carries a delete date). */
export type ValidRecord = { fields: Record<string, string | string[]>; key: string; held: HeldPlan | null };

/** A record broken in one field: its JSON members (duplicates allowed), and what the refusal names. */
export type HostileRecord = { members: [string, string][]; field: string; result: 'CPR07' | 'CPR04' };

const upsertKey = (p: Pick<HeldPlan, 'nhsNumber' | 'planType' | 'startDate'>) => `${p.nhsNumber}/${p.planType}/${p.startDate}`;

/** Today in England, as the service sees it; generated dates keep days of margin from every rule's edge. */
export const today = () => londonDateOf(new Date());

// ---------------------------------------------------------------- NHS numbers

const withCheckDigit = (n: number) => {
  const nine = `999${String(n).padStart(6, '0')}`;
  const check = checkDigitOf(nine);
  return check === undefined ? undefined : `${nine}${check}`;
};

/** A valid 999-range NHS number. */
const nhsNumberArb = fc
  .integer({ min: 0, max: 999_999 })
  .map(withCheckDigit)
  .filter((n): n is string => n !== undefined && !/^(\d)\1{9}$/.test(n));

/** A valid NHS number as an LA might type it: spaced, dashed or padded. */
const formattedNhsArb = fc.tuple(nhsNumberArb, fc.constantFrom('plain', 'spaced', 'dashed', 'mixed', 'padded')).map(([n, style]) => {
  const [a, b, c] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
  const text = { plain: n, spaced: `${a} ${b} ${c}`, dashed: `${a}-${b}-${c}`, mixed: `${a} ${b}-${c}`, padded: ` ${n} ` }[style];
  return { text, plain: n };
});

/** NHS numbers that must be refused, with the acknowledgement code each earns. */
const badNhsArb: fc.Arbitrary<{ text: string; result: 'CPR07' | 'CPR04' }> = fc.oneof(
  nhsNumberArb.map((n) => ({ text: `${n.slice(0, 9)}${(Number(n[9]) + 1) % 10}`, result: 'CPR07' as const })),
  fc.integer({ min: 0, max: 9 }).map((d) => ({ text: String(d).repeat(10), result: 'CPR07' as const })),
  fc.integer({ min: 0, max: 999_999 }).filter((n) => withCheckDigit(n) === undefined).map((n) => ({ text: `999${String(n).padStart(6, '0')}0`, result: 'CPR07' as const })),
  fc.constantFrom('999000001', '99900000188', '', ' ', '--', '999 000 001 8x', '٩٩٩٠٠٠٠٠١٨', '９９９０００００１８', '999\u00000000018', '9990000018'.repeat(3)).map((text) => ({ text, result: 'CPR07' as const })),
  fc.constantFrom('ABC 123 4567', 'AB1234567', 'x9990000018').map((text) => ({ text, result: 'CPR04' as const })),
);

// ---------------------------------------------------------------- text

const codePoints = (s: string) => [...s].length;
/** Text PostgreSQL can hold as sent: no NUL, no unpaired surrogate. */
const storable = (s: string) => !s.includes('\u0000') && s.isWellFormed();

/** Characters that make quoting, trimming and encoding interesting, alongside plain letters. */
const SPICE = ["'", '"', ',', ';', '\\', '|', ' ', '  ', '\t', '\r\n', '\n', '\r', '\u00a0', '\u2028', '\u2029', '\ufeff', '\u200d', 'é', 'e\u0301', 'ß', '😀', '👩‍👩‍👧', '中', 'ﬀ', 'Ω', '{', '}', '[', '$', '%', 'NULL', '\\N', '\\.'];
const unitArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPICE) },
);

/** Valid free text: storable, not blank, at most `max` code points. */
const textArb = (max: number, options: { blankOk?: boolean; exclude?: RegExp } = {}) =>
  fc
    .string({ unit: unitArb, minLength: 1, maxLength: Math.min(max, 24) })
    .map((s) => (options.exclude ? s.replace(options.exclude, '') : s))
    .filter((s) => s.length > 0 && storable(s) && codePoints(s) <= max && (options.blankOk || /\S/.test(s)));

/** Names and references spreadsheet users fear: they must be stored exactly as sent. */
export const FORMULA_LOOKALIKES = ["=cmd|' /C calc'!A0", '+SUM(1,2)', '-2+3', '@SUM(A1:A2)', '=HYPERLINK("http://example.invalid","x")', '=1+1'];

// ---------------------------------------------------------------- dates

const dayArb = (from: string, minDays: number, maxDays: number) => fc.integer({ min: minDays, max: maxDays }).map((d) => addDays(from, d));

/** Strings no date field may accept. */
const BAD_DATES = [
  '2023-02-30', '2023-02-29', '2100-02-29', '0000-01-01', '0000-00-00', '2024-13-01', '2024-00-10', '2024-04-31',
  '2016-5-1', '20160501', '2016-05-01T00:00:00Z', ' 2016-05-01', '2016-05-01 ', '+002016-05-01', '2016/05/01',
  '01-05-2016', '٢٠١٦-٠٥-٠١', '2016-05-01\u0000', '', 'null', '10000-01-01', '-2016-05-01',
];

// ---------------------------------------------------------------- valid records

const POSTCODE = /^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$/;
const postcodeArb = fc.stringMatching(POSTCODE);
const normalisePostcode = (p: string) => p.toUpperCase().replace(/\s+/g, '').replace(/(...)$/, ' $1');

type RecordOptions = { csv?: boolean };

/** A valid record of any plan type, and the plan the service should then hold. */
export function validRecordArb(now: string, options: RecordOptions = {}): fc.Arbitrary<ValidRecord> {
  // In CSV, address lines share a cell split on "|" and trimmed, so lines may not hold the separator.
  const addressItem = options.csv ? textArb(100, { blankOk: true, exclude: /\|/g }) : textArb(100, { blankOk: true });
  const lacStatus = fc.constantFrom('S31', 'S38', 'S20');
  const planArb = fc.oneof(
    fc.record({ planType: fc.constant('CPP'), birthDate: dayArb(addYears(now, -18), 3, 18 * 365 - 3), lacLegalStatus: fc.constant(undefined) }),
    fc.record({ planType: fc.constant('LAC'), birthDate: dayArb(addYears(now, -18), 3, 18 * 365 - 3), lacLegalStatus: lacStatus }),
    fc.record({ planType: fc.constant('UCPP'), birthDate: dayArb(now, -60 * 365, -12 * 365), lacLegalStatus: fc.constant(undefined) }),
  );
  return fc
    .record({
      plan: planArb,
      nhs: formattedNhsArb,
      startOffset: fc.integer({ min: 0, max: 365 * 12 }),
      endOffset: fc.option(fc.integer({ min: 0, max: 800 })),
      deleteDate: fc.option(dayArb(now, -30, 30), { freq: 8 }),
      familyName: fc.oneof({ weight: 5, arbitrary: textArb(100) }, fc.constantFrom(...FORMULA_LOOKALIKES)),
      givenNames: fc.oneof({ weight: 5, arbitrary: textArb(200) }, fc.constantFrom(...FORMULA_LOOKALIKES)),
      postcode: fc.option(postcodeArb),
      addressLines: fc.option(fc.array(addressItem, { maxLength: 6 })),
      localId: fc.option(fc.oneof({ weight: 5, arbitrary: textArb(64, { blankOk: true }) }, fc.constantFrom(...FORMULA_LOOKALIKES))),
    })
    .map((r) => {
      // Starts fall between birth and a little after today; UCPP starts are independent of the mother's birth.
      const startDate = r.plan.planType === 'UCPP' ? addDays(now, -(r.startOffset % 300)) : minDate(addDays(r.plan.birthDate, r.startOffset), addDays(now, 30));
      const endDate = r.endOffset === null ? null : addDays(startDate, r.endOffset);
      const fields: Record<string, string | string[]> = {
        nhsNumber: r.nhs.text, familyName: r.familyName, givenNames: r.givenNames, birthDate: r.plan.birthDate, planType: r.plan.planType, startDate,
      };
      if (r.plan.lacLegalStatus) fields.lacLegalStatus = r.plan.lacLegalStatus;
      if (endDate) fields.endDate = endDate;
      if (r.deleteDate) fields.deleteDate = r.deleteDate;
      if (r.postcode !== null) fields.postcode = r.postcode;
      if (r.addressLines !== null) fields.addressLines = r.addressLines;
      if (r.localId !== null) fields.localId = r.localId;
      const addressLines = options.csv
        ? (r.addressLines ?? []).join('|').split('|').map((l) => l.trim()).filter(Boolean)
        : (r.addressLines ?? []);
      const held: HeldPlan = {
        nhsNumber: r.nhs.plain, planType: r.plan.planType, startDate, endDate, lacLegalStatus: r.plan.lacLegalStatus ?? null,
        familyName: r.familyName.trim(), givenNames: r.givenNames.trim().replace(/\s+/g, ' '), birthDate: r.plan.birthDate,
        postcode: r.postcode === null ? null : normalisePostcode(r.postcode), addressLines, localId: r.localId,
      };
      return { fields, key: upsertKey(held), held: r.deleteDate ? null : held };
    });
}

const minDate = (a: string, b: string) => (a < b ? a : b);

/** A valid record sent again under the same key with new details, or with a delete date. */
export function resend(of: ValidRecord & { held: HeldPlan }, change: { familyName: string; deleteDate: string | null }): ValidRecord {
  const fields: ValidRecord['fields'] = { ...of.fields, familyName: change.familyName };
  if (change.deleteDate) fields.deleteDate = change.deleteDate;
  return { fields, key: of.key, held: change.deleteDate ? null : { ...of.held, familyName: change.familyName.trim() } };
}

/** The identity fields a second plan of a known child may change, with a valid new value each. */
export const IDENTITY_CHANGES = ['none', 'familyName', 'givenNames', 'birthDate', 'postcode'] as const;
export type IdentityChange = (typeof IDENTITY_CHANGES)[number];

/**
 * Another plan (an earlier start date, so a new key) of a child already held or sent, with the same
 * details or with one identity field changed; undefined when no earlier start would be valid.
 */
export function anotherPlan(of: ValidRecord & { held: HeldPlan }, change: { days: number; field: IdentityChange }): ValidRecord | undefined {
  const startDate = addDays(of.held.startDate, -change.days);
  const held: HeldPlan = { ...of.held, startDate, endDate: of.held.endDate };
  if (of.held.planType !== 'UCPP' && startDate < of.held.birthDate) return undefined;
  const fields: ValidRecord['fields'] = { ...of.fields, startDate };
  delete fields.deleteDate;
  const set = (field: 'familyName' | 'givenNames' | 'birthDate' | 'postcode', value: string) => {
    fields[field] = value;
    held[field] = value;
  };
  if (change.field === 'familyName') set('familyName', `${of.held.familyName}x`);
  if (change.field === 'givenNames') set('givenNames', `${of.held.givenNames}x`);
  if (change.field === 'postcode') set('postcode', of.held.postcode === 'LS2 9JT' ? 'M1 1AE' : 'LS2 9JT');
  // A day older: still under 18 (births keep days of margin) and still born before the plan starts.
  if (change.field === 'birthDate') set('birthDate', addDays(of.held.birthDate, -1));
  return { fields, key: `${held.nhsNumber}/${held.planType}/${startDate}`, held };
}

/** Who a held plan says the child is: what one NHS number's plans must agree on (the service's IDENTITY_FIELDS). */
const identityOf = (p: HeldPlan) => ({ familyName: p.familyName, givenNames: p.givenNames, birthDate: p.birthDate, postcode: p.postcode ?? '' });

/**
 * The service's one-identity rule, applied to a batch as the oracle sees it: each last record of a key
 * that leaves a plan must agree with the LA's untouched plans of the child, or (none being left) with
 * the batch's other last records of it; a key that does not is refused whole, naming the first field.
 */
function identityRefusals(before: Map<string, HeldPlan>, sent: { index: number; record: ValidRecord }[]): Map<number, string> {
  const latest = new Map<string, { index: number; record: ValidRecord }>();
  for (const s of sent) latest.set(s.record.key, s);
  const incoming = [...latest.values()].filter((s) => s.record.held !== null);
  const refusedKeys = new Map<string, string>();
  for (const s of incoming) {
    const nhs = (s.record.held as HeldPlan).nhsNumber;
    const untouched = [...before.entries()].filter(([key, p]) => p.nhsNumber === nhs && !latest.has(key)).map(([, p]) => p);
    const reference = untouched.length ? untouched : incoming.filter((o) => (o.record.held as HeldPlan).nhsNumber === nhs).map((o) => o.record.held as HeldPlan);
    const mine = identityOf(s.record.held as HeldPlan);
    const field = (Object.keys(mine) as (keyof typeof mine)[]).find((f) => {
      const values = new Set(reference.map((p) => identityOf(p)[f]));
      return values.size !== 1 || !values.has(mine[f]);
    });
    if (field) refusedKeys.set(s.record.key, field);
  }
  return new Map(sent.flatMap((s) => (refusedKeys.has(s.record.key) ? [[s.index, refusedKeys.get(s.record.key) as string] as const] : [])));
}

// ---------------------------------------------------------------- hostile records

const json = (v: unknown) => JSON.stringify(v);
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** JSON texts that are not a string (nor an array, which address lines would take). */
const notStringArb = fc.oneof(
  fc.integer().map(json),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(json),
  fc.constantFrom('true', 'false', 'null', '{}', '1e999', '-0', '123456789012345678901234567890', '{"value":"x"}', '{"__proto__":{"x":1}}'),
);
/** JSON texts of the wrong type for any string field: scalars, objects, arrays, deep nesting. */
const wrongTypeArb = fc.oneof(
  notStringArb,
  fc.constantFrom('[]', '["CPP"]'),
  fc.integer({ min: 2, max: 3000 }).map(deep),
  fc.array(fc.string(), { maxLength: 3 }).map(json),
);

const nul = (s: string) => `${s.slice(0, 1)}\u0000${s.slice(1)}`;
const loneSurrogate = fc.constantFrom('\ud800', '\udfff', '\udbff', '\udc00');

/**
 * Strings that a text field of at most `max` code points must refuse. CSV text cannot carry unpaired
 * surrogates, and a 100,000-character cell is a malformed CSV row rather than a long field.
 */
const badTextArb = (max: number, blankOk: boolean, options: { surrogates?: boolean; empty?: boolean; huge?: boolean } = {}) =>
  fc.oneof(
    ...(options.empty === false ? [] : [fc.constant('')]),
    fc.integer({ min: max + 1, max: max + 200 }).map((n) => 'x'.repeat(n)),
    ...(options.huge === false ? [] : [fc.constant('y'.repeat(100_000))]),
    textArb(max - 1).map(nul),
    ...(options.surrogates === false ? [] : [fc.tuple(textArb(max - 1), loneSurrogate).map(([s, u]) => `${s}${u}`)]),
    ...(blankOk ? [] : [fc.constantFrom(' ', '   ', '\t\r\n', '\u00a0', '\u2028', '\ufeff')]),
  );

/** Extra members no record may carry, including ones that pollute prototypes when parsed carelessly. */
const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'favouriteColour', 'NHSNumber', 'nhs_number', 'nhsNumber ', '$ref'];
/** Extra members whose names could not even be stored as they are (NUL, an unpaired surrogate), or that carry patient data. */
const UNSTORABLE_KEYS = ['nhsNumber\u0000', '\ud800x', '9990000018', 'Testchild 2016-05-01'];
/** The members a record may have: any other is named by its position, never by its text. */
const RECORD_FIELDS = new Set(['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'postcode', 'addressLines', 'planType', 'lacLegalStatus', 'startDate', 'endDate', 'deleteDate', 'localId']);

type Mutation = { field: string; named?: string; value?: string; remove?: boolean; result?: 'CPR07' | 'CPR04'; shadowFirst?: string };

/** One way to break a given valid record; `field` is what the acknowledgement must name. */
function mutationArb(base: ValidRecord['fields'], now: string): fc.Arbitrary<Mutation> {
  const plan = base.planType as string;
  const birth = base.birthDate as string;
  const start = base.startDate as string;
  const setTo = (field: string, values: fc.Arbitrary<unknown>) => values.map((v) => ({ field, value: json(v) }));
  const options: fc.Arbitrary<Mutation>[] = [
    fc.constantFrom('nhsNumber', 'familyName', 'givenNames', 'birthDate', 'startDate', 'planType', 'postcode', 'localId', 'endDate', 'deleteDate', 'lacLegalStatus')
      .chain((field) => wrongTypeArb.map((value) => ({ field, value }))),
    notStringArb.map((value) => ({ field: 'addressLines', value })),
    fc.constantFrom('nhsNumber', 'familyName', 'givenNames', 'birthDate', 'planType', 'startDate').map((field) => ({ field, remove: true })),
    fc.tuple(fc.constantFrom(...EXTRA_KEYS), fc.oneof(wrongTypeArb, fc.constant(json(base)))).map(([field, value]) => ({ field, value })),
    fc.constantFrom(...UNSTORABLE_KEYS).map((key) => ({ field: key, value: '1' })),
    badNhsArb.map((b) => ({ field: 'nhsNumber', value: json(b.text), result: b.result })),
    setTo('familyName', badTextArb(100, false)),
    setTo('givenNames', badTextArb(200, false)),
    setTo('localId', badTextArb(64, true)),
    fc.constantFrom('birthDate', 'startDate', 'endDate', 'deleteDate').chain((field) => setTo(field, fc.constantFrom(...BAD_DATES))),
    setTo('birthDate', fc.oneof(dayArb(now, 2, 2_000_000), fc.constant('9999-12-31'))),
    setTo('endDate', fc.integer({ min: 1, max: 3650 }).map((d) => addDays(start, -d))),
    setTo('postcode', fc.constantFrom('LS1', 'LS1  4AP', '12345', 'LS1 4AP\u0000', '', 'ZZZZZZZZZZZ', 'LS1-4AP', 'ＬＳ1 4AP')),
    setTo('planType', fc.constantFrom('cpp', 'CP', '', 'CPP ', 'LAC\u0000', 'Cpp', 'UCPP\n')),
    setTo('addressLines', fc.array(fc.constant('line'), { minLength: 7, maxLength: 20 })),
    fc.tuple(fc.nat({ max: 5 }), badTextArb(100, true)).map(([i, bad]) => {
      const lines = Array.from({ length: i + 1 }, (_, k) => (k === i ? bad : `line ${k}`));
      return { field: 'addressLines', named: `addressLines.${i}`, value: json(lines) };
    }),
    // A member given twice is refused, whichever of its values is valid: the service does not guess which one was meant.
    fc.constantFrom('familyName', 'birthDate').chain((field) => wrongTypeArb.map((bad) => ({ field, value: bad, shadowFirst: json(base[field]) }))),
    fc.constantFrom('familyName', 'birthDate', 'planType', 'nhsNumber').chain((field) => wrongTypeArb.map((bad) => ({ field, value: json(base[field]), shadowFirst: bad }))),
  ];
  if (plan !== 'UCPP') {
    // An adult's plan is refused unless the record deletes it or ends it before the 18th birthday.
    if (base.deleteDate === undefined && base.endDate === undefined) options.push(setTo('birthDate', dayArb(addYears(now, -18), -20_000, -2)));
    options.push(setTo('startDate', fc.integer({ min: 1, max: 3650 }).map((d) => addDays(birth, -d))));
  }
  if (plan === 'LAC') options.push(fc.constant({ field: 'lacLegalStatus', remove: true }), setTo('lacLegalStatus', fc.constantFrom('s31', 'S99', '', 'S31 ')));
  else options.push(setTo('lacLegalStatus', fc.constantFrom('S31', 'S38', 'S20')));
  return fc.oneof(...options);
}

/** A valid record's fields as JSON members. */
export const membersOf = (fields: Record<string, unknown>): [string, string][] => Object.entries(fields).map(([k, v]) => [k, json(v)]);

/** A valid record with one field broken. */
function hostileRecordArb(now: string): fc.Arbitrary<HostileRecord> {
  return validRecordArb(now).chain((base) =>
    mutationArb(base.fields, now).map((m) => {
      let members = membersOf(base.fields).filter(([k]) => !(m.remove && k === m.field));
      if (m.value !== undefined && !m.remove) {
        const rest = members.filter(([k]) => k !== m.field);
        members = m.shadowFirst !== undefined ? [[m.field, m.shadowFirst], ...rest, [m.field, m.value]] : [...rest, [m.field, m.value]];
      }
      // An unknown member is the last one: named by its position.
      const named = m.named ?? (RECORD_FIELDS.has(m.field.split('.')[0] as string) ? m.field : `key ${members.length}`);
      return { members, field: named, result: m.result ?? 'CPR07' };
    }),
  );
}

/** JSON text of an object from members, keeping duplicates and order. */
export const objectText = (members: [string, string][]) => `{${members.map(([k, v]) => `${json(k)}:${v}`).join(',')}}`;

// ---------------------------------------------------------------- answers

/** Every answer is a success or a 4xx OperationOutcome: never a 5xx, never another error shape. */
export async function expectSuccessOrOutcome(res: JsonResponse): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBeLessThan(500);
  if (res.status < 400) return { status: res.status, body: text ? JSON.parse(text) : undefined };
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = JSON.parse(text) as { resourceType: string; issue: { details: { coding: { code: string }[] } }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue.length).toBeGreaterThan(0);
  expect(body.issue[0]?.details.coding[0]?.code).toMatch(/^[A-Z_]+$/);
  return { status: res.status, body };
}

// ---------------------------------------------------------------- batches

/** One record of a fuzzed batch. */
export type Slot =
  | { kind: 'valid'; record: ValidRecord; members: [string, string][] }
  | { kind: 'hostile'; record: HostileRecord }
  | { kind: 'not-object'; text: string }
  | { kind: 'resend'; of: number; familyName: string; deleteDate: string | null }
  | { kind: 'another-plan'; of: number; days: number; field: IdentityChange };

/** Another plan of a known child: the same details, or one identity field changed. */
export const anotherPlanSlotArb = fc.record({
  kind: fc.constant('another-plan' as const), of: fc.nat(), days: fc.integer({ min: 1, max: 20 }), field: fc.constantFrom(...IDENTITY_CHANGES),
});

/** JSON values that are not objects, as records. */
const notObjectArb = fc.oneof(
  fc.integer().map(json),
  fc.constantFrom('null', 'true', '"record"', '[]', '[{}]', '1e999', '""'),
  fc.integer({ min: 2, max: 3000 }).map(deep),
);

/** A record of a batch: valid, hostile, not an object, or a resend of one already sent. */
export function slotArb(now: string): fc.Arbitrary<Slot> {
  return fc.oneof(
    { weight: 4, arbitrary: validRecordArb(now).map((record): Slot => ({ kind: 'valid', record, members: membersOf(record.fields) })) },
    { weight: 4, arbitrary: hostileRecordArb(now).map((record): Slot => ({ kind: 'hostile', record })) },
    { weight: 1, arbitrary: notObjectArb.map((text): Slot => ({ kind: 'not-object', text })) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('resend' as const), of: fc.nat(), familyName: textArb(100), deleteDate: fc.option(dayArb(now, -5, 5)) }),
    },
    { weight: 2, arbitrary: anotherPlanSlotArb },
  );
}

/** What a batch of slots after a seed should do: the records as sent, the refusals, and the plans then held. */
export type Expected = { records: string[]; rejected: [number, string, string][]; loaded: number; held: HeldPlan[]; nhsNumbers: string[] };

const byKey = (a: HeldPlan, b: HeldPlan) => (upsertKey(a) < upsertKey(b) ? -1 : 1);

/** The oracle: the last record sent for a key wins; a delete date removes the key; refusals load nothing. */
export function expectationOf<R>(seed: ValidRecord[], slots: R[], render: (slot: R, known: (ValidRecord & { held: HeldPlan })[]) => RenderedSlot | undefined): Expected {
  const held = new Map<string, HeldPlan>();
  const known: (ValidRecord & { held: HeldPlan })[] = [];
  const apply = (r: ValidRecord) => {
    if (r.held) {
      held.set(r.key, r.held);
      known.push(r as ValidRecord & { held: HeldPlan });
    } else held.delete(r.key);
  };
  seed.forEach(apply);
  const before = new Map(held);
  const expected: Expected = { records: [], rejected: [], loaded: 0, held: [], nhsNumbers: seed.flatMap((r) => (r.held ? [r.held.nhsNumber] : [])) };
  const sent: { index: number; record: ValidRecord }[] = [];
  for (const slot of slots) {
    const out = render(slot, known);
    if (!out) continue;
    const index = expected.records.length;
    expected.records.push(out.text);
    if (out.loads) {
      sent.push({ index, record: out.loads });
      apply(out.loads);
      if (out.loads.held) expected.nhsNumbers.push(out.loads.held.nhsNumber);
    } else expected.rejected.push([index, out.result, out.field]);
  }
  // The batch applies whole at its end, without the keys whose details disagree with the child's other plans.
  const refused = identityRefusals(before, sent);
  for (const [index, field] of refused) expected.rejected.push([index, 'CPR07', field]);
  expected.rejected.sort((a, b) => a[0] - b[0]);
  expected.loaded = sent.length - refused.size;
  const after = new Map(before);
  for (const { index, record } of sent) {
    if (refused.has(index)) continue;
    if (record.held) after.set(record.key, record.held);
    else after.delete(record.key);
  }
  expected.held = [...after.values()].sort(byKey);
  return expected;
}

export type RenderedSlot = { text: string } & ({ loads: ValidRecord } | { loads?: undefined; field: string; result: string });

/** UPLOAD_MAX_RECORD_BYTES as the fuzzed services run with it (the default). */
export const RECORD_LIMIT_BYTES = loadConfig({}).uploadMaxRecordBytes;

/** A record longer than the limit is refused as a whole, before any field of it is looked at. */
const overLimit = (rendered: RenderedSlot | undefined): RenderedSlot | undefined =>
  rendered && Buffer.byteLength(rendered.text) > RECORD_LIMIT_BYTES ? { text: rendered.text, field: '(record)', result: 'CPR07' } : rendered;

/** Renders a JSON-batch slot as its JSON text (NDJSON uses the same text as a line). */
export function renderJsonSlot(slot: Slot, known: (ValidRecord & { held: HeldPlan })[]): RenderedSlot | undefined {
  return overLimit(renderJsonSlotText(slot, known));
}

function renderJsonSlotText(slot: Slot, known: (ValidRecord & { held: HeldPlan })[]): RenderedSlot | undefined {
  switch (slot.kind) {
    case 'valid':
      return { text: objectText(slot.members), loads: slot.record };
    case 'hostile':
      return { text: objectText(slot.record.members), field: slot.record.field, result: slot.record.result };
    case 'not-object':
      return { text: slot.text, field: '(record)', result: 'CPR07' };
    case 'resend': {
      const of = known[slot.of % Math.max(known.length, 1)];
      if (!of) return undefined;
      const r = resend(of, slot);
      return { text: objectText(membersOf(r.fields)), loads: r };
    }
    case 'another-plan': {
      const of = known[slot.of % Math.max(known.length, 1)];
      const r = of && anotherPlan(of, slot);
      return r ? { text: objectText(membersOf(r.fields)), loads: r } : undefined;
    }
  }
}

/** An acknowledgement must match the oracle exactly, and repeat no NHS number it was sent. */
export function expectAcknowledgement(ack: Record<string, unknown>, expected: Expected, sequenceNumber: number): void {
  const processed = expected.records.length;
  const result = expected.loaded === processed ? 'CPF02' : expected.loaded === 0 ? 'CPF04' : 'CPF03';
  expect(ack).toMatchObject({ sequenceNumber, result, processed, loaded: expected.loaded, rejected: expected.rejected.length });
  const records = ack.records as { index: number; result: string; detail: { code: string; field: string; message: string } }[];
  expect(records.map((r) => [r.index, r.result, r.detail.field])).toEqual(expected.rejected);
  for (const r of records) expect(r.detail.code).toMatch(/^[A-Z0-9_]+$/);
  const text = JSON.stringify(ack);
  for (const nhs of expected.nhsNumbers) expect(text).not.toContain(nhs);
}

// ---------------------------------------------------------------- register state, read from PostgreSQL

type Queryable = { query<T>(sql: string, values?: unknown[]): Promise<{ rows: T[] }> };

const HELD_SQL = `SELECT nhs_number AS "nhsNumber", plan_type AS "planType", start_date::text AS "startDate", end_date::text AS "endDate",
  lac_legal_status AS "lacLegalStatus", family_name AS "familyName", given_names AS "givenNames", birth_date::text AS "birthDate",
  postcode, address_lines AS "addressLines", local_id AS "localId" FROM plans WHERE la_code = $1`;

/** The plans an LA holds, in the oracle's order. */
export async function heldPlans(db: Queryable, laCode: string): Promise<HeldPlan[]> {
  return (await db.query<HeldPlan>(HELD_SQL, [laCode])).rows.sort(byKey);
}

/** Everything a batch could touch for an LA, row for row: plans (with their timestamps), batches, the LA row. */
export async function registerState(db: Queryable, laCode: string): Promise<unknown> {
  const [plans, uploads, organisation] = await Promise.all([
    db.query('SELECT * FROM plans WHERE la_code = $1 ORDER BY id', [laCode]),
    db.query('SELECT id, sequence_number, result, acknowledgement FROM uploads WHERE la_code = $1 ORDER BY sequence_number', [laCode]),
    db.query('SELECT * FROM organisations WHERE code = $1', [laCode]),
  ]);
  return { plans: plans.rows, uploads: uploads.rows, organisation: organisation.rows };
}

// ---------------------------------------------------------------- CSV

export const CSV_COLUMNS = [
  'nhsNumber', 'familyName', 'givenNames', 'birthDate', 'postcode', 'addressLines',
  'planType', 'lacLegalStatus', 'startDate', 'endDate', 'deleteDate', 'localId',
] as const;

/** One data row of a fuzzed CSV batch. */
export type CsvSlot =
  | { kind: 'valid'; record: ValidRecord }
  | { kind: 'hostile'; record: ValidRecord; field: string; value: string; named: string; result: 'CPR07' | 'CPR04' }
  | { kind: 'ragged'; record: ValidRecord; extra: number }
  | { kind: 'resend'; of: number; familyName: string; deleteDate: string | null };

/** One way to break a CSV record's cell ('' is an absent field); `named` is what the refusal must name. */
function csvMutationArb(base: ValidRecord['fields'], now: string): fc.Arbitrary<{ field: string; value: string; named?: string; result?: 'CPR07' | 'CPR04' }> {
  const plan = base.planType as string;
  const set = (field: string, values: fc.Arbitrary<string>) => values.map((value) => ({ field, value }));
  const options = [
    badNhsArb.map((b) => ({ field: 'nhsNumber', value: b.text, result: b.result })),
    fc.constantFrom('birthDate', 'startDate').chain((field) => set(field, fc.constantFrom(...BAD_DATES))),
    fc.constantFrom('endDate', 'deleteDate').chain((field) => set(field, fc.constantFrom(...BAD_DATES.filter(Boolean)))),
    set('birthDate', dayArb(now, 2, 2_000_000)),
    set('endDate', fc.integer({ min: 1, max: 3650 }).map((d) => addDays(base.startDate as string, -d))),
    set('familyName', badTextArb(100, false, { surrogates: false, huge: false })),
    set('givenNames', badTextArb(200, false, { surrogates: false, huge: false })),
    set('localId', badTextArb(64, true, { surrogates: false, empty: false, huge: false })),
    set('planType', fc.constantFrom('cpp', 'CP', '', 'CPP ', 'LAC\u0000', 'UCPP\n', '=CPP')),
    set('postcode', fc.constantFrom('LS1', 'LS1  4AP', '12345', 'LS1 4AP\u0000', 'ZZZZZZZZZZZ', '=LS1 4AP')),
    fc.integer({ min: 7, max: 12 }).map((n) => ({ field: 'addressLines', value: Array.from({ length: n }, (_, i) => `line ${i}`).join('|') })),
    fc.tuple(fc.nat({ max: 5 }), badTextArb(100, true, { surrogates: false, empty: false, huge: false }).filter((s) => !s.includes('|') && s.trim() === s)).map(([i, bad]) => ({
      field: 'addressLines', named: `addressLines.${i}`, value: [...Array.from({ length: i }, (_, k) => `line ${k}`), bad].join('|'),
    })),
  ];
  if (plan !== 'UCPP') {
    if (base.deleteDate === undefined && base.endDate === undefined) options.push(set('birthDate', dayArb(addYears(now, -18), -20_000, -2)));
    options.push(set('startDate', fc.integer({ min: 1, max: 3650 }).map((d) => addDays(base.birthDate as string, -d))));
  }
  if (plan === 'LAC') options.push(set('lacLegalStatus', fc.constantFrom('', 's31', 'S99', 'S31 ')));
  else options.push(set('lacLegalStatus', fc.constantFrom('S31', 'S38', 'S20')));
  return fc.oneof(...options);
}

/** A row of a CSV batch: valid, broken in one cell, with the wrong number of cells, or a resend. */
export function csvSlotArb(now: string): fc.Arbitrary<CsvSlot> {
  const valid = validRecordArb(now, { csv: true });
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((record): CsvSlot => ({ kind: 'valid', record })) },
    {
      weight: 4,
      arbitrary: valid.chain((record) =>
        csvMutationArb(record.fields, now).map((m): CsvSlot => ({ kind: 'hostile', record, field: m.field, value: m.value, named: m.named ?? m.field, result: m.result ?? 'CPR07' })),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(valid, fc.integer({ min: -5, max: 5 }).filter((n) => n !== 0)).map(([record, extra]): CsvSlot => ({ kind: 'ragged', record, extra })) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('resend' as const), of: fc.nat(), familyName: textArb(100), deleteDate: fc.option(dayArb(now, -5, 5)) }) },
  );
}

/**
 * One CSV cell. Cells that need it are quoted (embedded quotes doubled); others are quoted or not
 * as `quote` says, and unquoted ones may carry a byte-order mark at their edge, which the reader trims.
 */
export function csvCell(value: string, quote: boolean, bom: boolean): string {
  if (quote || /[",\r\n]/.test(value) || value !== value.trim()) return `"${value.replaceAll('"', '""')}"`;
  return bom && value ? `\ufeff${value}` : value;
}

/** A record's fields as the cells of the given columns. */
export function csvCellsOf(fields: Record<string, string | string[]>, columns: readonly string[]): string[] {
  return columns.map((c) => {
    const v = Object.hasOwn(fields, c) ? fields[c] : undefined;
    return v === undefined ? '' : Array.isArray(v) ? v.join('|') : v;
  });
}

// ---------------------------------------------------------------- requests

/** HTTP-legal header text: visible ASCII, space, tab and Latin-1, as fetch sends it (trimmed). */
export const headerValueArb = (maxLength = 200) =>
  fc
    .string({ unit: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, fc.constant(0x09), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength })
    .map((s) => s.trim());

/** A request id the service may echo: the rule the README's X-Request-ID promise rests on. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Request ids, safe and not: long, with markup, paths, quotes, Latin-1 and log-forging text. */
export const requestIdArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  fc.constantFrom('a'.repeat(128), 'b'.repeat(129), '../../etc/passwd', '<script>alert(1)</script>', '" , "level":60, "x":"', 'id\u00ff', 'x'.repeat(4000), '%0d%0aSet-Cookie: a=b', '${jndi:ldap://x}'),
  headerValueArb(300),
);

/** Authorization values that are never a valid token. */
export const badAuthorizationArb = (validToken: string) => {
  const [head = '', payload = '', signature = ''] = validToken.split('.');
  const mid = Math.floor(payload.length / 2);
  const tampered = `${head}.${payload.slice(0, mid)}${payload[mid] === 'A' ? 'B' : 'A'}${payload.slice(mid + 1)}.${signature}`;
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return fc.oneof(
    fc.constantFrom(
      'Bearer', 'Bearer ', 'Bearer  ', 'bearer', `Basic ${Buffer.from('user:pass').toString('base64')}`, 'Negotiate YII=', 'Digest username="x"',
      'Bearer a.b.c', `Bearer ${tampered}`, `Bearer ${head}.${payload}.`, `Bearer ${head}.${payload}`, `Bearer ${validToken} ${validToken}`,
      `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'x', role: 'ops' })}.`, `Bearer ${b64({ alg: 'HS256', kid: '../../x' })}.${payload}.${signature}`,
      `Bearer ${b64({ alg: 'ES256', jku: 'http://127.0.0.1:1/jwks' })}.${payload}.${signature}`, `Bearer ${'a'.repeat(9000)}`, `Token ${validToken}`,
    ),
    fc.integer({ min: 1, max: 3000 }).map((n) => `Bearer ${'.'.repeat(n)}`),
    fc.array(fc.base64String({ maxLength: 40 }), { minLength: 1, maxLength: 8 }).map((parts) => `Bearer ${parts.join('.')}`),
    headerValueArb(500).filter((v) => !v.includes(validToken)),
  );
};
