import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import {
  CSV_COLUMNS, FORMULA_LOOKALIKES, csvCell, csvCellsOf, csvSlotArb, expectAcknowledgement, expectationOf, expectSuccessOrOutcome, heldPlans,
  registerState, resend, today, validRecordArb, type CsvSlot, type HeldPlan, type RenderedSlot, type ValidRecord,
} from '../support/arbitraries.ts';

// Property-based tests of CSV uploads: any quoting, line ends, byte-order marks and cell counts
// give an acknowledgement that names each refused row's field, or a 400 that writes nothing.

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

const postCsv = (token: string, body: string, sequence = '2') =>
  service.fetch('/la/v1/uploads', {
    method: 'POST', token, body, headers: { 'content-type': 'text/csv', 'x-sequence-number': sequence }, signal: AbortSignal.timeout(20_000),
  });

/** A fresh LA that already holds the seed, loaded as CSV batch 1. */
async function laWith(seed: ValidRecord[]) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const rows = seed.map((r) => csvCellsOf(r.fields, CSV_COLUMNS).map((c) => csvCell(c, true, false)).join(','));
  const answer = await expectSuccessOrOutcome(await postCsv(token, [CSV_COLUMNS.join(','), ...rows].join('\r\n'), '1'));
  expect(answer.body).toMatchObject({ result: 'CPF02' });
  return { org, token };
}

// What an LA already holds is a consistent register: one child per NHS number (a second plan of a child with
// other details would be refused).
const seedArb = (now: string) =>
  fc.uniqueArray(validRecordArb(now, { csv: true }).filter((r) => r.held !== null), { minLength: 1, maxLength: 3, selector: (r) => r.held?.nhsNumber });

async function expectStillServing(logMark: number) {
  expect((await service.fetch('/health/live')).status).toBe(200);
  const token = await laToken(service, syntheticLaCode());
  expect((await (await uploadJson(service, token, 1, [childRecord()])).json()).result).toBe('CPF02');
  const errors = service.logs.slice(logMark).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  expect(errors).toEqual([]);
}

/** Renders a row: its cells joined, each quoted or not by the mask, unquoted ones sometimes with a BOM at the edge. */
function renderRow(slot: CsvSlot, known: (ValidRecord & { held: HeldPlan })[], columns: readonly string[], quoteMask: number, bomMask: number): RenderedSlot | undefined {
  const line = (cells: string[]) => cells.map((c, i) => csvCell(c, ((quoteMask >> i) & 1) === 1, ((bomMask >> i) & 1) === 1)).join(',');
  switch (slot.kind) {
    case 'valid':
      return { text: line(csvCellsOf(slot.record.fields, columns)), loads: slot.record };
    case 'hostile':
      return { text: line(csvCellsOf({ ...slot.record.fields, [slot.field]: slot.value }, columns)), field: slot.named, result: slot.result };
    case 'ragged': {
      const cells = csvCellsOf(slot.record.fields, columns);
      const ragged = slot.extra > 0 ? [...cells, ...Array.from({ length: slot.extra }, () => 'extra')] : cells.slice(0, cells.length + slot.extra);
      return { text: line(ragged), field: '(record)', result: 'CPR07' };
    }
    case 'resend': {
      const of = known[slot.of % Math.max(known.length, 1)];
      if (!of) return undefined;
      const r = resend(of, slot);
      return { text: line(csvCellsOf(r.fields, columns)), loads: r };
    }
  }
}

describe('fuzzing CSV uploads', () => {
  it('loads exactly the valid rows whatever the quoting, line ends and BOMs, and names the field of every refused row', async () => {
    const now = today();
    const mark = service.logs.length;
    const row = fc.record({ slot: csvSlotArb(now), quoteMask: fc.nat({ max: 4095 }), bomMask: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.nat({ max: 4095 })) });
    await fc.assert(
      fc.asyncProperty(
        seedArb(now),
        fc.shuffledSubarray([...CSV_COLUMNS], { minLength: CSV_COLUMNS.length }),
        fc.array(row, { maxLength: 8 }),
        fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 9, maxLength: 9 }),
        fc.boolean(),
        fc.option(fc.nat({ max: CSV_COLUMNS.length - 1 })),
        async (seed, columns, rows, breaks, bom, headerBom) => {
          const la = await laWith(seed);
          const expected = expectationOf(seed, rows, (r, known) => renderRow(r.slot, known, columns, r.quoteMask, r.bomMask));
          const header = columns.map((c, i) => (i === headerBom ? `\ufeff${c}` : c)).join(',');
          const lines = [header, ...expected.records];
          const body = `${bom ? '\ufeff' : ''}${lines.map((l, i) => `${l}${breaks[i]}`).join('')}`;
          const answer = await expectSuccessOrOutcome(await postCsv(la.token, body));
          expect(answer.status).toBe(201);
          expectAcknowledgement(answer.body as Record<string, unknown>, expected, 2);
          expect(await heldPlans(db, la.org)).toEqual(expected.held);
        },
      ),
      { numRuns: 50 },
    );
    await expectStillServing(mark);
  });

  it('refuses a batch whose header or structure is unreadable (CPF01) and writes nothing', async () => {
    const now = today();
    const mark = service.logs.length;
    const required = ['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'planType', 'startDate'];
    const unknownColumn = fc.oneof(
      fc.constantFrom('NHSNumber', 'nhs_number', 'nhsnumber', '__proto__', 'constructor', 'favouriteColour', 'nhsNumber\u0000', '=cmd|\' /C calc\'!A0', 'x'.repeat(500)),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !(CSV_COLUMNS as readonly string[]).includes(s.trim()) && s.trim() !== '' && !/[",\r\n]/.test(s)),
    );
    const header = fc.oneof(
      fc.tuple(fc.shuffledSubarray([...CSV_COLUMNS]), unknownColumn).map(([cols, extra]) => [...cols, extra].join(',')),
      fc.tuple(fc.shuffledSubarray([...CSV_COLUMNS], { minLength: 1 }), fc.nat()).map(([cols, i]) => [...cols, cols[i % cols.length]].join(',')),
      fc.tuple(fc.shuffledSubarray(required, { minLength: 1, maxLength: 5 })).map(([cols]) => cols.join(',')),
      fc.constantFrom('', '\ufeff', '\r\n\r\n', `"${required.join(',')}`, `${required.join(',')},"x"y`, `${required.join(',')}\n"unterminated`, `${required.join(',')}\n${'z'.repeat(70_000)}`),
    );
    await fc.assert(
      fc.asyncProperty(seedArb(now), header, validRecordArb(now, { csv: true }), async (seed, head, record) => {
        const la = await laWith(seed);
        const before = await registerState(db, la.org);
        const columns = head.split(',');
        const body = `${head}\r\n${csvCellsOf(record.fields, columns).map((c) => csvCell(c, true, false)).join(',')}\r\n`;
        const answer = await expectSuccessOrOutcome(await postCsv(la.token, body));
        expect(answer.status).toBe(400);
        expect(JSON.stringify(answer.body)).toContain('CPF01');
        expect(await registerState(db, la.org)).toEqual(before);
      }),
      { numRuns: 40 },
    );
    await expectStillServing(mark);
  });

  it('stores formula-like values exactly as sent and only ever returns them as JSON', async () => {
    const la = await laWith([]);
    const records = FORMULA_LOOKALIKES.map((value) => childRecord({ familyName: value, givenNames: value, localId: value.slice(0, 64), addressLines: [] }));
    const columns = ['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'planType', 'startDate', 'localId'];
    const body = [columns.join(','), ...records.map((r) => csvCellsOf(r as Record<string, string>, columns).map((c) => csvCell(c, false, false)).join(','))].join('\r\n');
    const answer = await expectSuccessOrOutcome(await postCsv(la.token, body));
    expect(answer.body).toMatchObject({ result: 'CPF02', loaded: FORMULA_LOOKALIKES.length });
    const res = await service.fetch('/la/v1/plans', { token: la.token });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const { plans } = await res.json();
    expect(plans.map((p: { familyName: string }) => p.familyName).sort()).toEqual([...FORMULA_LOOKALIKES].sort());
  });

  it('reads rows whose line ends change part-way through the file (they were glued into one refused row)', async () => {
    const la = await laWith([]);
    const columns = ['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'planType', 'startDate'];
    const rows = [childRecord(), childRecord(), childRecord()].map((r) => csvCellsOf(r as Record<string, string>, columns).join(','));
    const answer = await expectSuccessOrOutcome(await postCsv(la.token, `${columns.join(',')}\r\n${rows[0]}\n${rows[1]}\r${rows[2]}\n`));
    expect(answer.body).toMatchObject({ result: 'CPF02', processed: 3, loaded: 3 });
  });
});
