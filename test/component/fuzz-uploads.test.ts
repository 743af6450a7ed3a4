import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import {
  expectAcknowledgement, expectationOf, expectSuccessOrOutcome, heldPlans, objectText, membersOf, registerState, renderJsonSlot,
  slotArb, today, validRecordArb, type ValidRecord,
} from '../support/arbitraries.ts';

// Property-based tests of POST /la/v1/uploads in JSON and NDJSON: whatever the body, the answer
// is an acknowledgement or a 4xx OperationOutcome, and PostgreSQL then holds exactly the valid
// records (or, for a refused batch, exactly what it held before).

let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '0' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const post = (token: string, body: string | Uint8Array, contentType: string, headers: Record<string, string> = {}) =>
  service.fetch('/la/v1/uploads', {
    method: 'POST', token, body: body as string, headers: { 'content-type': contentType, ...headers }, signal: AbortSignal.timeout(20_000),
  });

/** A fresh LA that already holds the seed, loaded as batch 1. */
async function laWith(seed: ValidRecord[]) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const res = await uploadJson(service, token, 1, seed.map((r) => r.fields));
  expect(res.status).toBe(201);
  const ack = await res.json();
  expect(ack.result).toBe('CPF02');
  return { org, token, ack };
}

// What an LA already holds is a consistent register: one child per NHS number (a second plan of a child with
// other details would be refused).
const seedArb = (now: string) =>
  fc.uniqueArray(validRecordArb(now).filter((r) => r.held !== null), { minLength: 1, maxLength: 3, selector: (r) => r.held?.nhsNumber });
const sequencesOf = async (org: string) =>
  (await db.query<{ n: string }>('SELECT sequence_number AS n FROM uploads WHERE la_code = $1 ORDER BY 1', [org])).rows.map((r) => Number(r.n));

/** After a property: the process still answers, a known-good batch still loads, and nothing was logged as an error. */
async function expectStillServing(logMark: number) {
  expect((await service.fetch('/health/live')).status).toBe(200);
  const token = await laToken(service, syntheticLaCode());
  const res = await uploadJson(service, token, 1, [childRecord()]);
  expect(res.status).toBe(201);
  expect((await res.json()).result).toBe('CPF02');
  const errors = service.logs.slice(logMark).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  expect(errors).toEqual([]);
}

describe('fuzzing JSON uploads', () => {
  it('loads exactly the valid records of any batch and names the field of every refused one', async () => {
    const now = today();
    const mark = service.logs.length;
    await fc.assert(
      fc.asyncProperty(seedArb(now), fc.array(slotArb(now), { maxLength: 8 }), fc.boolean(), fc.boolean(), async (seed, slots, sequenceFirst, withHeader) => {
        const la = await laWith(seed);
        const expected = expectationOf(seed, slots, renderJsonSlot);
        const records = `[${expected.records.join(',')}]`;
        const body = sequenceFirst ? `{"sequenceNumber":2,"records":${records}}` : `{"records":${records},"sequenceNumber":2}`;
        const answer = await expectSuccessOrOutcome(await post(la.token, body, 'application/json', withHeader ? { 'x-sequence-number': '2' } : {}));
        expect(answer.status).toBe(201);
        expectAcknowledgement(answer.body as Record<string, unknown>, expected, 2);
        expect(await heldPlans(db, la.org)).toEqual(expected.held);
        expect(await sequencesOf(la.org)).toEqual([1, 2]);
      }),
      { numRuns: 60 },
    );
    await expectStillServing(mark);
  });

  it('refuses an unreadable or malformed batch with a 4xx and writes nothing of it', async () => {
    const now = today();
    const mark = service.logs.length;
    const body = (records: string) => `{"sequenceNumber":2,"records":[${records}]}`;
    const corruption = fc.oneof(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((at) => ({ kind: 'truncated' as const, at })),
      fc.constantFrom(
        '', '[]', '"batch"', 'null', '{}', '{"records": {}}', '{"records": "x"}', '{"sequenceNumber": 2}', '{"sequenceNumber": "2", "records": []}',
        '{"sequenceNumber": -2, "records": []}', '{"sequenceNumber": 2.5, "records": []}', '{"sequenceNumber": 0, "records": []}',
        '{"sequenceNumber": 2e0, "records": []}', '{"sequenceNumber": 9999999999999999, "records": []}', '{"sequenceNumber": null, "records": []}',
        '{"sequenceNumber": 2, "records": [], "extra": 1}', '{"__proto__": {"sequenceNumber": 2}, "records": []}', '{"sequenceNumber": 2, "constructor": 1, "records": []}',
        '{"sequenceNumber": 2, "records": []} {"x": 1}', '{"sequenceNumber": 2, "records": []}]', '{"sequenceNumber": 2, "records": [}',
        '{"sequenceNumber": 2, "records": [1,]}', "{'sequenceNumber': 2, 'records': []}",
        `{"sequenceNumber": 2, "records": ${'['.repeat(5000)}`, '{"sequenceNumber": 2, "records": [{"a": "\\ud800}]}', '{"sequenceNumber": 2, "records": ["\\u00"]}',
      ).map((text) => ({ kind: 'envelope' as const, text })),
      fc.constantFrom('1', '3', '0', 'two', '-1').map((header) => ({ kind: 'header-mismatch' as const, header })),
      fc.constantFrom('application/xml', 'text/plain', 'application/json-seq', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*', 'json')
        .map((type) => ({ kind: 'content-type' as const, type })),
    );
    await fc.assert(
      fc.asyncProperty(seedArb(now), fc.array(validRecordArb(now), { minLength: 1, maxLength: 5 }), corruption, async (seed, batch, c) => {
        const la = await laWith(seed);
        const before = await registerState(db, la.org);
        const valid = body(batch.map((r) => objectText(membersOf(r.fields))).join(','));
        const res =
          c.kind === 'truncated' ? await post(la.token, valid.slice(0, Math.floor(c.at * valid.length)), 'application/json')
          : c.kind === 'envelope' ? await post(la.token, c.text, 'application/json')
          : c.kind === 'header-mismatch' ? await post(la.token, valid, 'application/json', { 'x-sequence-number': c.header })
          : await post(la.token, valid, c.type);
        const answer = await expectSuccessOrOutcome(res);
        // A resent sequence number replays batch 1's acknowledgement; everything else is refused.
        if (answer.status === 200) expect(answer.body).toEqual(la.ack);
        else expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(await registerState(db, la.org)).toEqual(before);
      }),
      { numRuns: 60 },
    );
    await expectStillServing(mark);
  });

  it('refuses a batch with bytes that are not UTF-8, naming their offset, and changes nothing', async () => {
    const now = today();
    const mark = service.logs.length;
    const BAD_BYTES = [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80, 0x80], [0xfe, 0xff]];
    const TYPES = ['application/json', 'application/x-ndjson', 'text/csv'] as const;
    await fc.assert(
      fc.asyncProperty(seedArb(now), validRecordArb(now).filter((r) => r.held !== null), fc.constantFrom(...BAD_BYTES), fc.constantFrom(...TYPES), async (seed, record, bad, type) => {
        const la = await laWith(seed);
        const before = await registerState(db, la.org);
        const fields = { ...record.fields, familyName: 'Pre@@Post' };
        const csv = () => {
          const columns = Object.keys(fields);
          const cell = (v: unknown) => (Array.isArray(v) ? v.join('|') : String(v));
          return `${columns.join(',')}\n${columns.map((c) => `"${cell(fields[c as keyof typeof fields]).replaceAll('"', '""')}"`).join(',')}\n`;
        };
        const text =
          type === 'application/x-ndjson' ? `${JSON.stringify(fields)}\n`
          : type === 'text/csv' ? csv()
          : `{"sequenceNumber":2,"records":[${JSON.stringify(fields)}]}`;
        const bytes = Buffer.from(text, 'utf8');
        const at = bytes.indexOf('@@');
        const body = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at + 2)]);
        const answer = await expectSuccessOrOutcome(await post(la.token, body, type, type === 'application/json' ? {} : { 'x-sequence-number': '2' }));
        expect(answer.status).toBe(400);
        const issue = (answer.body as { issue: { diagnostics: string }[] }).issue[0];
        // Decoded with replacement, these bytes would have become U+FFFD in the child's name.
        expect(issue?.diagnostics).toMatch(new RegExp(`CPF01 .*not valid UTF-8 at byte ${at}\\b`));
        expect(await registerState(db, la.org)).toEqual(before);
      }),
      { numRuns: 30 },
    );
    await expectStillServing(mark);
  });

  it('refuses an envelope that gives sequenceNumber or records twice, and keeps the sequence number free', async () => {
    const la = await laWith([]);
    const before = await registerState(db, la.org);
    const many = Array.from({ length: 200 }, () => JSON.stringify(childRecord())).join(',');
    for (const text of [
      `{"sequenceNumber":300,"records":[${many}],"sequenceNumber":2}`,
      `{"sequenceNumber":2,"records":[${many}],"records":[]}`,
      `{"records":[],"sequenceNumber":2,"sequenceNumber":2}`,
    ]) {
      const answer = await expectSuccessOrOutcome(await post(la.token, text, 'application/json'));
      expect(answer.status).toBe(400);
      expect((answer.body as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toMatch(/CPF01 .*more than once/);
      expect(await registerState(db, la.org)).toEqual(before);
    }
    expect((await uploadJson(service, la.token, 2, [childRecord()])).status).toBe(201);
  });
});

describe('fuzzing NDJSON uploads', () => {
  const SEQUENCE_HEADERS = [
    { header: '2', outcome: 'load' }, { header: '00002', outcome: 'load' }, { header: '1', outcome: 'replay' }, { header: undefined, outcome: 'missing' },
    { header: '0', outcome: 'invalid' }, { header: '-2', outcome: 'invalid' }, { header: '2.0', outcome: 'invalid' }, { header: '2e0', outcome: 'invalid' },
    { header: 'two', outcome: 'invalid' }, { header: '\u00b2', outcome: 'invalid' }, { header: '9'.repeat(16), outcome: 'invalid' },
  ] as const;

  it('loads exactly the valid lines of any batch, counting unreadable lines as refused records', async () => {
    const now = today();
    const mark = service.logs.length;
    // A line that is not a JSON object: unreadable or not an object, either way a refusal of "(record)".
    const garbage = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')).filter((s) => s.trim() !== '' && !s.trim().startsWith('{'));
    const line = fc.oneof({ weight: 5, arbitrary: slotArb(now).map((slot) => ({ slot })) }, { weight: 1, arbitrary: garbage.map((text) => ({ garbage: text })) });
    await fc.assert(
      fc.asyncProperty(
        seedArb(now),
        fc.array(line, { maxLength: 8 }),
        fc.array(fc.constantFrom('\n', '\r\n', '\r', '\n  \n', '\n\t\n'), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        fc.oneof({ weight: 6, arbitrary: fc.constant(SEQUENCE_HEADERS[0]) }, fc.constantFrom(...SEQUENCE_HEADERS)),
        async (seed, lines, breaks, trailingBreak, sequence) => {
          const la = await laWith(seed);
          const before = await registerState(db, la.org);
          const expected = expectationOf(seed, lines, (l, known) =>
            'garbage' in l ? { text: l.garbage, field: '(record)', result: 'CPR07' } : renderJsonSlot(l.slot, known),
          );
          const body = expected.records.map((text, i) => `${text}${i < expected.records.length - 1 || trailingBreak ? breaks[i] : ''}`).join('');
          const headers: Record<string, string> = sequence.header === undefined ? {} : { 'x-sequence-number': sequence.header };
          const answer = await expectSuccessOrOutcome(await post(la.token, body, 'application/x-ndjson', headers));
          if (sequence.outcome === 'load') {
            expect(answer.status).toBe(201);
            expectAcknowledgement(answer.body as Record<string, unknown>, expected, 2);
            expect(await heldPlans(db, la.org)).toEqual(expected.held);
            return;
          }
          if (sequence.outcome === 'replay') expect(answer).toEqual({ status: 200, body: la.ack });
          else expect(answer.status).toBe(400);
          expect(await registerState(db, la.org)).toEqual(before);
        },
      ),
      { numRuns: 50 },
    );
    await expectStillServing(mark);
  });
});

describe('regressions found by the properties', () => {
  it('refuses a NUL character in a text field, naming the field, where it was a 500 (PostgreSQL cannot store NUL)', async () => {
    const la = await laWith([]);
    const nul = (s: string) => `${s}\u0000x`;
    const records = [
      childRecord({ familyName: nul('Smith') }), childRecord({ givenNames: nul('Sam') }), childRecord({ localId: nul('L') }),
      childRecord({ addressLines: ['1 Street', nul('Leeds')] }), childRecord(),
    ];
    const res = await uploadJson(service, la.token, 2, records);
    expect(res.status).toBe(201);
    const ack = await res.json();
    expect(ack).toMatchObject({ result: 'CPF03', loaded: 1, rejected: 4 });
    expect(ack.records.map((r: { detail: { field: string; code: string } }) => [r.detail.field, r.detail.code])).toEqual([
      ['familyName', 'INVALID_CHARACTERS'], ['givenNames', 'INVALID_CHARACTERS'], ['localId', 'INVALID_CHARACTERS'], ['addressLines.1', 'INVALID_CHARACTERS'],
    ]);
    expect(await heldPlans(db, la.org)).toHaveLength(1);
  });

  it('refuses an unpaired surrogate in a name rather than storing it altered', async () => {
    const la = await laWith([]);
    const res = await post(la.token, `{"sequenceNumber":2,"records":[${JSON.stringify(childRecord()).replace(/"familyName":"[^"]*"/, '"familyName":"Sm\\ud800ith"')}]}`, 'application/json');
    const ack = await res.json();
    expect(ack).toMatchObject({ result: 'CPF04', records: [{ index: 0, result: 'CPR07', detail: { field: 'familyName', code: 'INVALID_CHARACTERS' } }] });
  });

  it('names an unknown member by its position, never by its text, in the acknowledgement and its replay', async () => {
    const la = await laWith([]);
    const record = (key: string) => JSON.stringify(childRecord()).replace(/}$/, `,${JSON.stringify(key)}:1}`);
    const keys = ['a\u0000b', '\ud800', 'x'.repeat(1000), '9990000018', 'Testchild 2016-05-01'];
    const res = await post(la.token, `{"sequenceNumber":2,"records":[${keys.map(record).join(',')}]}`, 'application/json');
    expect(res.status).toBe(201);
    const ack = await res.json();
    // childRecord() has eight members: the unknown one is the ninth.
    expect(ack.records.map((r: { detail: { code: string; field: string } }) => [r.detail.code, r.detail.field])).toEqual(keys.map(() => ['UNKNOWN_FIELD', 'key 9']));
    for (const key of ['9990000018', 'Testchild', 'xxxxxxxxxx']) expect(JSON.stringify(ack)).not.toContain(key);
    const replay = await post(la.token, `{"sequenceNumber":2,"records":[]}`, 'application/json');
    expect(await replay.json()).toEqual(ack);
  });

  it('refuses a record that gives a member twice, as JSON or NDJSON, naming a known field and placing an unknown one', async () => {
    const la = await laWith([]);
    const twice = (key: string, value: string) => JSON.stringify(childRecord()).replace(/}$/, `,${JSON.stringify(key)}:${value}}`);
    const records = [twice('familyName', '"Other"'), twice('nhsNumber', '"9990000018"'), `{"x":1,${twice('x', '2').slice(1)}`, JSON.stringify(childRecord()).replace(/}$/, ',"fam\\u0069lyName":"Esc"}'), JSON.stringify(childRecord())];
    for (const [i, type] of (['application/json', 'application/x-ndjson'] as const).entries()) {
      const sequence = 2 + i;
      const res = await post(
        la.token,
        type === 'application/json' ? `{"sequenceNumber":${sequence},"records":[${records.join(',')}]}` : records.join('\n'),
        type,
        type === 'application/json' ? {} : { 'x-sequence-number': String(sequence) },
      );
      expect(res.status).toBe(201);
      const ack = await res.json();
      expect(ack).toMatchObject({ result: 'CPF03', loaded: 1, rejected: 4 });
      expect(ack.records.map((r: { result: string; detail: { code: string; field: string } }) => [r.result, r.detail.code, r.detail.field])).toEqual([
        ['CPR07', 'DUPLICATE_FIELD', 'familyName'], ['CPR07', 'DUPLICATE_FIELD', 'nhsNumber'], ['CPR07', 'DUPLICATE_FIELD', 'key 10'], ['CPR07', 'DUPLICATE_FIELD', 'familyName'],
      ]);
    }
  });
});
