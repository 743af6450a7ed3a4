import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

async function freshLa() {
  const org = syntheticLaCode();
  return { org, token: await laToken(service, org) };
}

async function plansOf(token: string) {
  const all: Record<string, unknown>[] = [];
  let after: string | null = null;
  do {
    const res = await service.fetch(`/la/v1/plans?limit=1000${after ? `&after=${after}` : ''}`, { token });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { plans: Record<string, unknown>[]; next: string | null };
    all.push(...page.plans);
    after = page.next;
  } while (after);
  return all;
}

describe('POST /la/v1/uploads', () => {
  it('loads a JSON batch, normalising NHS numbers, and lists it back', async () => {
    const { token } = await freshLa();
    const nhs = syntheticNhsNumber();
    const spaced = `${nhs.slice(0, 3)} ${nhs.slice(3, 6)}-${nhs.slice(6)}`;
    const res = await uploadJson(service, token, 1, [childRecord({ nhsNumber: spaced }), childRecord({ planType: 'LAC', lacLegalStatus: 'S31' })]);
    expect(res.status).toBe(201);
    const ack = await res.json();
    expect(ack).toMatchObject({ sequenceNumber: 1, result: 'CPF02', processed: 2, loaded: 2, rejected: 0, records: [] });
    expect(ack.uploadId).toMatch(/^[0-9a-f-]{36}$/);
    const plans = await plansOf(token);
    expect(plans).toHaveLength(2);
    expect(plans.map((p) => p.nhsNumber)).toContain(nhs);
    expect(plans.find((p) => p.planType === 'LAC')).toMatchObject({ lacLegalStatus: 'S31' });
  });

  it('lists exactly the bad rows of a 10,000-record batch and loads the rest', async () => {
    const { token } = await freshLa();
    const bad = new Map<number, string>([
      [17, 'nhsNumber'],
      [2048, 'endDate'],
      [5000, 'lacLegalStatus'],
      [7777, 'birthDate'],
      [9999, 'favouriteColour'],
    ]);
    const records = Array.from({ length: 10_000 }, (_, i) => {
      const field = bad.get(i);
      if (field === 'nhsNumber') return childRecord({ nhsNumber: badChecksumNhsNumber() });
      if (field === 'endDate') return childRecord({ startDate: yearsAgo(1), endDate: yearsAgo(2) });
      if (field === 'lacLegalStatus') return childRecord({ planType: 'LAC' });
      if (field === 'birthDate') return childRecord({ birthDate: yearsAgo(19), startDate: yearsAgo(2) });
      if (field === 'favouriteColour') return childRecord({ favouriteColour: 'blue' });
      return childRecord();
    });
    const res = await uploadJson(service, token, 1, records);
    expect(res.status).toBe(201);
    const ack = await res.json();
    expect(ack).toMatchObject({ result: 'CPF03', processed: 10_000, loaded: 9_995, rejected: 5 });
    // An unknown member is named by its place in the record (the ninth), never by its own text.
    const named = [...bad.entries()].map(([i, field]) => [i, field === 'favouriteColour' ? 'key 9' : field]);
    expect(ack.records.map((r: { index: number; detail: { field: string } }) => [r.index, r.detail.field])).toEqual(named);
    for (const r of ack.records) expect(r.result).toBe('CPR07');
    expect(JSON.stringify(ack)).not.toContain('favouriteColour');
    expect(await plansOf(token)).toHaveLength(9_995);
  });

  it('answers CPF04 when nothing loads, and never echoes patient data in details', async () => {
    const { token } = await freshLa();
    const nhs = badChecksumNhsNumber();
    const res = await uploadJson(service, token, 1, [childRecord({ nhsNumber: nhs, familyName: 'Uniquename' })]);
    const ack = await res.json();
    expect(ack).toMatchObject({ result: 'CPF04', loaded: 0, rejected: 1 });
    expect(JSON.stringify(ack)).not.toMatch(new RegExp(`${nhs}|Uniquename`));
  });

  it('reads NDJSON with the sequence number in X-Sequence-Number; a broken line fails alone', async () => {
    const { token } = await freshLa();
    const body = [JSON.stringify(childRecord()), '{not json', JSON.stringify(childRecord()), ''].join('\n');
    const res = await service.fetch('/la/v1/uploads', {
      method: 'POST', token, body,
      headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': '7' },
    });
    expect(res.status).toBe(201);
    const ack = await res.json();
    expect(ack).toMatchObject({ sequenceNumber: 7, result: 'CPF03', processed: 3, loaded: 2 });
    expect(ack.records).toEqual([{ index: 1, result: 'CPR07', detail: expect.objectContaining({ code: 'UNREADABLE' }) }]);
  });

  it('reads NDJSON that starts with a byte-order mark, as saved by some editors', async () => {
    const { token } = await freshLa();
    const body = `\uFEFF${JSON.stringify(childRecord())}\r\n${JSON.stringify(childRecord())}\r\n`;
    const res = await service.fetch('/la/v1/uploads', {
      method: 'POST', token, body,
      headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ result: 'CPF02', processed: 2, loaded: 2 });
  });

  it('reads a spreadsheet CSV export: BOM, CRLF, quoted fields with commas and quotes', async () => {
    const { token } = await freshLa();
    const a = syntheticNhsNumber();
    const b = syntheticNhsNumber();
    const csv =
      '\uFEFFnhsNumber,familyName,givenNames,birthDate,postcode,addressLines,planType,lacLegalStatus,startDate\r\n' +
      `${a},"O'Neil, Jr","Sam ""Sammy"" Lee",${yearsAgo(5)},LS1 4AP,"1 Long Row|Leeds",LAC,S20,${yearsAgo(1)}\r\n` +
      `${b},Brown,Kim,${yearsAgo(3)},,,CPP,,${yearsAgo(1)}\r\n`;
    const res = await service.fetch('/la/v1/uploads', {
      method: 'POST', token, body: csv,
      headers: { 'content-type': 'text/csv; charset=utf-8', 'x-sequence-number': '1' },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ result: 'CPF02', loaded: 2 });
    const plans = await plansOf(token);
    expect(plans.find((p) => p.nhsNumber === a)).toMatchObject({
      familyName: "O'Neil, Jr", givenNames: 'Sam "Sammy" Lee', addressLines: ['1 Long Row', 'Leeds'], planType: 'LAC', lacLegalStatus: 'S20',
    });
    expect(plans.find((p) => p.nhsNumber === b)).toMatchObject({ postcode: null, addressLines: [] });
  });

  it('refuses a CSV with an unknown or missing column, loading nothing', async () => {
    const { token } = await freshLa();
    for (const header of ['nhsNumber,familyName,givenNames,birthDate,planType,startDate,notes', 'nhsNumber,familyName,birthDate,planType,startDate']) {
      const res = await service.fetch('/la/v1/uploads', {
        method: 'POST', token, body: `${header}\n`,
        headers: { 'content-type': 'text/csv', 'x-sequence-number': '1' },
      });
      expect(res.status).toBe(400);
      const outcome = await res.json();
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
      // An unknown header cell is named by position: without its header row, a CSV's first row is a child's details.
      expect(outcome.issue[0].expression[0]).toMatch(/^(column 7|givenNames)$/);
      expect(JSON.stringify(outcome)).not.toContain('notes');
    }
    expect(await plansOf(token)).toHaveLength(0);
  });

  it('answers malformed JSON with 400 and loads nothing, even after good records', async () => {
    const { token } = await freshLa();
    const body = `{"sequenceNumber":1,"records":[${JSON.stringify(childRecord())},{"nhsNumber":`;
    const res = await service.fetch('/la/v1/uploads', { method: 'POST', token, body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    const outcome = await res.json();
    expect(outcome.issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    expect(outcome.issue[0].diagnostics).toMatch(/CPF01/);
    expect(await plansOf(token)).toHaveLength(0);
    // The sequence number was not consumed.
    expect((await uploadJson(service, token, 1, [childRecord()])).status).toBe(201);
  });

  it('refuses unknown envelope fields, a missing sequence number and a wrong content type', async () => {
    const { token } = await freshLa();
    const post = (body: string, type = 'application/json') =>
      service.fetch('/la/v1/uploads', { method: 'POST', token, body, headers: { 'content-type': type } });
    const unknown = await post(JSON.stringify({ sequenceNumber: 1, records: [], extra: true }));
    expect(unknown.status).toBe(400);
    const outcome = await unknown.json();
    expect(outcome.issue[0].expression).toEqual(['body']);
    expect(outcome.issue[0].diagnostics).toMatch(/key 3 of the batch envelope/);
    expect(JSON.stringify(outcome)).not.toContain('extra');
    const missing = await post(JSON.stringify({ records: [childRecord()] }));
    expect(missing.status).toBe(400);
    expect((await missing.json()).issue[0].expression).toEqual(['sequenceNumber']);
    const xml = await post('<batch/>', 'application/xml');
    expect(xml.status).toBe(415);
    expect((await xml.json()).issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    expect(await plansOf(token)).toHaveLength(0);
  });

  it('returns the stored acknowledgement for a resent sequence number and 409 for a lower one', async () => {
    const { token } = await freshLa();
    const first = await (await uploadJson(service, token, 5, [childRecord()])).json();
    const resent = await uploadJson(service, token, 5, [childRecord(), childRecord()]);
    expect(resent.status).toBe(200);
    expect(resent.headers.get('x-replayed')).toBe('true');
    expect(await resent.json()).toEqual(first);
    expect(await plansOf(token)).toHaveLength(1);
    const lower = await uploadJson(service, token, 4, [childRecord()]);
    expect(lower.status).toBe(409);
    expect((await lower.json()).issue[0].details.coding[0].code).toBe('RESOURCE_VERSION_MISMATCH');
    expect(await plansOf(token)).toHaveLength(1);
    expect((await uploadJson(service, token, 6, [childRecord()])).status).toBe(201);
  });

  it('upserts on LA + NHS number + plan type + start date; an end date ends, a delete date removes', async () => {
    const { token } = await freshLa();
    const record = childRecord();
    await uploadJson(service, token, 1, [record]);
    await uploadJson(service, token, 2, [{ ...record, familyName: 'Renamed', endDate: yearsAgo(0, 3) }]);
    let plans = await plansOf(token);
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ familyName: 'Renamed', endDate: yearsAgo(0, 3) });
    // A different start date is a different plan.
    await uploadJson(service, token, 3, [{ ...record, familyName: 'Renamed', startDate: yearsAgo(0, 1) }]);
    expect(await plansOf(token)).toHaveLength(2);
    await uploadJson(service, token, 4, [{ ...record, deleteDate: yearsAgo(0) }]);
    plans = await plansOf(token);
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ startDate: yearsAgo(0, 1) });
  });

  it('keeps the last of duplicate keys within one batch', async () => {
    const { token } = await freshLa();
    const record = childRecord();
    const ack = await (await uploadJson(service, token, 1, [record, { ...record, givenNames: 'Second' }])).json();
    expect(ack).toMatchObject({ result: 'CPF02', loaded: 2 });
    expect(await plansOf(token)).toEqual([expect.objectContaining({ givenNames: 'Second' })]);
  });

  it('refuses a body over UPLOAD_MAX_BYTES with 413 and loads nothing', async () => {
    const small = await startTestService({ env: { UPLOAD_MAX_BYTES: '2048' } });
    try {
      const token = await laToken(small, syntheticLaCode());
      const res = await uploadJson(small, token, 1, Array.from({ length: 40 }, () => childRecord()));
      expect(res.status).toBe(413);
      expect((await res.json()).resourceType).toBe('OperationOutcome');
    } finally {
      await small.stop();
    }
  });

  it('keeps each LA to its own register', async () => {
    const a = await freshLa();
    const b = await freshLa();
    await uploadJson(service, a.token, 1, [childRecord()]);
    expect(await plansOf(b.token)).toHaveLength(0);
    // B's sequence is its own too.
    expect((await uploadJson(service, b.token, 1, [childRecord()])).status).toBe(201);
    expect(await plansOf(a.token)).toHaveLength(1);
  });
});

describe('the register after a large batch', () => {
  it('is analysed before the acknowledgement, so the next lookups are planned against what was loaded', async () => {
    const own = await startTestService();
    const db = new pg.Client({ connectionString: own.databaseUrl });
    await db.connect();
    try {
      const token = await laToken(own, syntheticLaCode());
      const records = Array.from({ length: 1_200 }, () => childRecord());
      const res = await uploadJson(own, token, 1, records);
      expect(res.status).toBe(201);
      // The statistics the planner reads say how many plans there are now, not how many there were.
      const { reltuples } = (await db.query<{ reltuples: number }>("SELECT reltuples FROM pg_class WHERE relname = 'plans'")).rows[0] as { reltuples: number };
      expect(reltuples).toBe(1_200);
      expect((await db.query('SELECT count(*)::int AS n FROM pg_stats WHERE tablename = $1 AND attname = $2', ['plans', 'nhs_number'])).rows[0].n).toBe(1);
    } finally {
      await db.end();
      await own.stop();
    }
  });
});
