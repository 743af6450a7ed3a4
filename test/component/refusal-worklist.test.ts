import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSubjectAccess } from '../../src/compose.ts';
import { HOUR, movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode } from '../support/synthetic.ts';

// GET /la/v1/refusals (issue 16, item 3): the LA's children whose latest record was refused, until a
// later batch loads them.

const DAY = 24 * HOUR;
const clock = movableClock();
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService({ clock, env: { RATE_LIMIT_PER_SECOND: '0', RETENTION_INTERVAL_SECONDS: '0' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

type Page = { refusals: { nhsNumber: string; result: string; detail: { code: string; field: string; message: string }; firstSeenAt: string; lastSeenAt: string; lastUploadId: string; lastIndex: number }[]; total: number; next: string | null };

const worklist = async (token: string, query = ''): Promise<Page> => {
  const res = await service.fetch(`/la/v1/refusals${query}`, { token });
  expect(res.status).toBe(200);
  return res.json();
};
const byNhs = <T extends { nhsNumber: string }>(rows: T[]) => [...rows].sort((a, b) => a.nhsNumber.localeCompare(b.nhsNumber));

/** Sends a batch at the clock's time; returns its acknowledgement. */
async function send(token: string, sequenceNumber: number, records: Record<string, unknown>[]) {
  const res = await uploadJson(service, token, sequenceNumber, records);
  expect(res.status).toBe(201);
  return res.json();
}

describe('the refusals worklist', () => {
  it('keeps each refused child once, with its latest refusal and when it was first and last refused, until a later batch loads or deletes it', async () => {
    const token = await laToken(service, syntheticLaCode());
    const lac = childRecord({ planType: 'LAC' });
    const extra = childRecord({ favouriteColour: 'blue' });
    const withdrawn = childRecord();
    const held = childRecord();
    const unusable = childRecord({ nhsNumber: badChecksumNhsNumber() });

    const t1 = new Date(clock.now());
    const first = await send(token, 1, [held, lac, unusable, extra, withdrawn]);
    expect(first).toMatchObject({ result: 'CPF03', loaded: 2, rejected: 3 });
    const page1 = await worklist(token);
    expect(page1).toEqual({
      total: 2, next: null,
      refusals: byNhs([
        { nhsNumber: lac.nhsNumber as string, result: 'CPR07', detail: first.records[0].detail, firstSeenAt: t1.toISOString(), lastSeenAt: t1.toISOString(), lastUploadId: first.uploadId, lastIndex: 1 },
        { nhsNumber: extra.nhsNumber as string, result: 'CPR07', detail: first.records[2].detail, firstSeenAt: t1.toISOString(), lastSeenAt: t1.toISOString(), lastUploadId: first.uploadId, lastIndex: 3 },
      ]),
    });
    expect(first.records[0].detail.code).toBe('LAC_LEGAL_STATUS_REQUIRED');
    // A record whose NHS number is itself unusable is in its batch's refusals only.
    expect(first.records[1]).toMatchObject({ index: 2, detail: { code: 'NHS_NUMBER_CHECKSUM' } });
    expect((await (await service.fetch(`/la/v1/uploads/${first.uploadId}/refusals`, { token })).json()).records.map((r: { index: number }) => r.index)).toEqual([1, 2, 3]);

    // Refused again with another rule: the latest refusal wins, first seen is kept. A record of a loaded child with
    // other details (withdrawn by the one-identity rule) joins; the child not sent again stays as it was.
    clock.advance(HOUR);
    const t2 = new Date(clock.now());
    const second = await send(token, 2, [{ ...lac, lacLegalStatus: 'S99' }, { ...withdrawn, planType: 'LAC', lacLegalStatus: 'S20', familyName: 'Otherfamily' }]);
    expect(second.records.map((r: { detail: { code: string } }) => r.detail.code)).toEqual(['INVALID_VALUE', 'DEMOGRAPHICS_CONFLICT']);
    const page2 = await worklist(token);
    expect(page2.total).toBe(3);
    expect(page2.refusals).toEqual(byNhs([
      { nhsNumber: lac.nhsNumber, result: 'CPR07', detail: second.records[0].detail, firstSeenAt: t1.toISOString(), lastSeenAt: t2.toISOString(), lastUploadId: second.uploadId, lastIndex: 0 },
      page1.refusals.find((r) => r.nhsNumber === extra.nhsNumber),
      { nhsNumber: withdrawn.nhsNumber, result: 'CPR07', detail: second.records[1].detail, firstSeenAt: t2.toISOString(), lastSeenAt: t2.toISOString(), lastUploadId: second.uploadId, lastIndex: 1 },
    ] as Page['refusals']));

    // A batch that loads one plan of a child and refuses another keeps the child on the list; loaded alone, it goes;
    // a delete date takes it off too.
    clock.advance(HOUR);
    const t3 = new Date(clock.now());
    const { nhsNumber: _nhs, favouriteColour: _colour, ...extraFixed } = extra;
    const third = await send(token, 3, [{ ...lac, planType: 'CPP' }, lac, { ...extraFixed, nhsNumber: extra.nhsNumber }, { ...withdrawn, deleteDate: t3.toISOString().slice(0, 10), planType: 'LAC', lacLegalStatus: 'S20' }]);
    expect(third).toMatchObject({ loaded: 3, rejected: 1 });
    const page3 = await worklist(token);
    expect(page3).toMatchObject({ total: 1, refusals: [{ nhsNumber: lac.nhsNumber, firstSeenAt: t1.toISOString(), lastSeenAt: t3.toISOString(), lastUploadId: third.uploadId, lastIndex: 1 }] });

    clock.advance(HOUR);
    await send(token, 4, [{ ...lac, lacLegalStatus: 'S31' }]);
    expect(await worklist(token)).toEqual({ refusals: [], total: 0, next: null });
  });

  it('pages in NHS number order, and is the LA\'s own', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const other = await laToken(service, syntheticLaCode());
    const refused = Array.from({ length: 3 }, () => childRecord({ planType: 'LAC' }));
    await send(token, 1, refused);
    const sorted = refused.map((r) => r.nhsNumber as string).sort();
    const a = await worklist(token, '?limit=2');
    expect([a.refusals.map((r) => r.nhsNumber), a.total, a.next]).toEqual([sorted.slice(0, 2), 3, sorted[1]]);
    const b = await worklist(token, `?limit=2&after=${a.next}`);
    expect([b.refusals.map((r) => r.nhsNumber), b.next]).toEqual([sorted.slice(2), null]);
    expect(await worklist(other)).toEqual({ refusals: [], total: 0, next: null });
    for (const bad of ['?limit=0', '?limit=1001', '?after=123', '?after=9990000018x']) expect((await service.fetch(`/la/v1/refusals${bad}`, { token })).status).toBe(400);

    // The subject access export names the row, with its LA.
    const { ok, export: held } = (await composeSubjectAccess(service.composition.pool, clock)({ nhsNumber: sorted[0] as string, operator: 'dpo-worklist' })) as { ok: true; export: { refusedRecords: unknown[] } };
    expect(ok).toBe(true);
    expect(held.refusedRecords).toEqual([expect.objectContaining({ laCode: org, nhsNumber: sorted[0], code: 'LAC_LEGAL_STATUS_REQUIRED' })]);
  });

  it('forgets a child no batch has refused for REFUSAL_RETENTION_DAYS (90), auditing the count', async () => {
    const token = await laToken(service, syntheticLaCode());
    const old = childRecord({ planType: 'LAC' });
    await send(token, 1, [old]);
    clock.advance(45 * DAY);
    const recent = childRecord({ planType: 'LAC' });
    await send(token, 2, [recent]);
    clock.advance(46 * DAY);
    const summary = await service.composition.runRetention();
    expect(summary.refusalsPurged).toBeGreaterThanOrEqual(1);
    expect((await worklist(token)).refusals.map((r) => r.nhsNumber)).toEqual([recent.nhsNumber]);
    const { rows } = await db.query(`SELECT detail FROM audit_events WHERE action = 'retention:purge-refusals' ORDER BY id DESC LIMIT 1`);
    expect(rows[0].detail).toMatchObject({ refusals: summary.refusalsPurged });
    clock.set(new Date());
  });
});
