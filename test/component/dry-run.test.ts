import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareLaToken, laToken, startTestService, type JsonResponse, type TestService } from '../support/service.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode } from '../support/synthetic.ts';

// POST /la/v1/uploads?dryRun=true (issue 16, item 3): the same checks as an upload, and nothing kept.

/** Everything the service keeps of an LA's batches, and of the children a test sent. */
async function stateOf(db: pg.Pool, org: string, nhsNumbers: string[]) {
  const { rows } = await db.query(
    `SELECT
       (SELECT json_agg(json_build_object('nhs', nhs_number, 'type', plan_type, 'familyName', family_name) ORDER BY nhs_number, plan_type) FROM plans WHERE la_code = $1) AS plans,
       (SELECT json_agg(json_build_object('seq', sequence_number, 'result', result) ORDER BY sequence_number) FROM uploads WHERE la_code = $1) AS uploads,
       (SELECT count(*)::int FROM upload_refusals r JOIN uploads u ON u.id = r.upload_id WHERE u.la_code = $1) AS refusals,
       (SELECT json_agg(nhs_number ORDER BY nhs_number) FROM refused_records WHERE la_code = $1) AS worklist,
       (SELECT count(*)::int FROM notifications WHERE la_code = $1) AS notifications,
       (SELECT count(*)::int FROM upload_staging WHERE nhs_number = ANY ($2)) AS staged,
       (SELECT count(*)::int FROM upload_refused_staging WHERE nhs_number = ANY ($2)) AS "refusedStaged",
       (SELECT count(*)::int FROM upload_slots WHERE la_code = $1) + (SELECT count(*)::int FROM upload_dry_run_slots WHERE la_code = $1) AS slots`,
    [org, nhsNumbers],
  );
  return rows[0];
}

async function auditsOf(db: pg.Pool, org: string) {
  const { rows } = await db.query<{ action: string; outcome: string; nhs_number: string | null; detail: Record<string, unknown> }>(
    `SELECT action, outcome, nhs_number, detail FROM audit_events WHERE organisation_code = $1 AND action LIKE 'upload%' ORDER BY id`, [org],
  );
  return rows;
}

const post = (service: TestService, token: string, body: unknown, query = '?dryRun=true'): Promise<JsonResponse> =>
  service.fetch(`/la/v1/uploads${query}`, { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** What a dry run and the upload it rehearses both say; the rest (uploadId, receivedAt, dryRun, pages) differs by nature. */
const verdict = ({ sequenceNumber, result, processed, loaded, rejected, records, refusalCounts }: Record<string, unknown>) =>
  ({ sequenceNumber, result, processed, loaded, rejected, records, refusalCounts });

describe('dry runs, PDS off', () => {
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

  it('answers 200 with the acknowledgement the upload gets, keeps nothing, and leaves the sequence number free', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const held = childRecord();
    expect((await post(service, token, { sequenceNumber: 1, records: [held] }, '')).status).toBe(201);

    const fresh = childRecord();
    const unknownField = childRecord({ favouriteColour: 'blue' });
    // Four records: one that loads, one that breaks the one-identity rule against what is held, two refused by the record rules.
    const batch = { sequenceNumber: 2, records: [fresh, { ...held, planType: 'LAC', lacLegalStatus: 'S20', familyName: 'Otherfamily' }, childRecord({ nhsNumber: badChecksumNhsNumber() }), unknownField] };
    const children = [held, fresh, unknownField].map((r) => r.nhsNumber as string);
    const before = await stateOf(db, org, children);

    const dry = await post(service, token, batch);
    expect(dry.status).toBe(200);
    expect(dry.headers.get('x-replayed')).toBeNull();
    const ack = await dry.json();
    expect(ack).toMatchObject({ dryRun: true, sequenceNumber: 2, result: 'CPF03', processed: 4, loaded: 1, rejected: 3, recordsNext: null });
    expect(ack.records.map((r: { index: number; detail: { code: string } }) => [r.index, r.detail.code])).toEqual([
      [1, 'DEMOGRAPHICS_CONFLICT'], [2, 'NHS_NUMBER_CHECKSUM'], [3, 'UNKNOWN_FIELD'],
    ]);

    // Nothing kept: no plan, batch, refusal page, worklist row, notification, staged row or slot.
    expect(await stateOf(db, org, children)).toEqual(before);
    expect(before).toMatchObject({ uploads: [{ seq: 1, result: 'CPF02' }], worklist: null, staged: 0, refusedStaged: 0, slots: 0 });
    expect((await service.fetch(`/la/v1/uploads/${ack.uploadId}/refusals`, { token })).status).toBe(404);
    expect((await (await service.fetch('/la/v1/refusals', { token })).json()).total).toBe(0);
    // One audit row says it ran: counts and codes, no child.
    expect((await auditsOf(db, org)).at(-1)).toEqual({
      action: 'upload:dry-run', outcome: 'ok', nhs_number: null,
      detail: { sequenceNumber: 2, result: 'CPF03', uploadId: ack.uploadId, processed: 4, loaded: 1, rejected: 3, dryRun: true },
    });

    // The sequence number is still free, and the upload is answered as the dry run said.
    const real = await post(service, token, batch, '');
    expect(real.status).toBe(201);
    const realAck = await real.json();
    expect(verdict(realAck)).toEqual(verdict(ack));
    expect(realAck.dryRun).toBeUndefined();
  });

  it('answers as the upload would for a resent or a lower sequence number, and for an LA without its phones', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const first = await (await post(service, token, { sequenceNumber: 1, records: [childRecord()] }, '')).json();
    const resent = await post(service, token, { sequenceNumber: 1, records: [childRecord()] });
    expect([resent.status, resent.headers.get('x-replayed')]).toEqual([200, 'true']);
    expect(await resent.json()).toEqual({ ...first, dryRun: true });
    expect((await post(service, token, { sequenceNumber: 2, records: [childRecord()] }, '')).status).toBe(201);
    expect((await post(service, token, { sequenceNumber: 1, records: [childRecord()] })).status).toBe(409);
    expect((await post(service, token, { sequenceNumber: 3, records: [] }, '?dryRun=yes')).status).toBe(400);
    const bare = syntheticLaCode();
    const refused = await post(service, await bareLaToken(service, bare), { sequenceNumber: 1, records: [childRecord()] });
    expect(refused.status).toBe(409);
    expect((await refused.json()).issue[0].diagnostics).toMatch(/^LA_CONTACT_MISSING:/);
    expect((await auditsOf(db, org)).map((a) => [a.action, a.outcome, a.detail.replayed ?? null])).toEqual([
      ['upload', 'ok', null], ['upload:dry-run', 'ok', true], ['upload', 'ok', null], ['upload:dry-run', 'invalid', null],
    ]);
    expect((await auditsOf(db, bare)).map((a) => [a.action, a.outcome, a.detail.reason])).toEqual([['upload:dry-run', 'invalid', 'LA_CONTACT_MISSING']]);
  });

  it('reads NDJSON and CSV like an upload, refusing an unreadable batch as the upload would', async () => {
    const token = await laToken(service, syntheticLaCode());
    const { nhsNumber, familyName, givenNames, birthDate, startDate } = childRecord();
    const csv = `nhsNumber,familyName,givenNames,birthDate,planType,startDate\r\n${nhsNumber},${familyName},${givenNames},${birthDate},CPP,${startDate}\r\n`;
    const dry = await service.fetch('/la/v1/uploads?dryRun=true', { method: 'POST', token, headers: { 'content-type': 'text/csv', 'x-sequence-number': '1' }, body: csv });
    expect([dry.status, (await dry.json()).result]).toEqual([200, 'CPF02']);
    const ndjson = await service.fetch('/la/v1/uploads?dryRun=true', {
      method: 'POST', token, headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' }, body: `${JSON.stringify(childRecord())}\nnot json\n`,
    });
    expect(await ndjson.json()).toMatchObject({ dryRun: true, result: 'CPF03', records: [{ index: 1, detail: { code: 'UNREADABLE' } }] });
    const broken = await service.fetch('/la/v1/uploads?dryRun=true', { method: 'POST', token, headers: { 'content-type': 'text/csv', 'x-sequence-number': '1' }, body: 'who,what\r\n1,2\r\n' });
    expect(broken.status).toBe(400);
    expect((await (await service.fetch('/la/v1/plans', { token })).json()).plans).toEqual([]);
  });

  it('needs no upload slot: it runs while the LA\'s upload is received, and only a second dry run waits', async () => {
    const token = await laToken(service, syntheticLaCode());
    const slow = slowUpload(service, token, '');
    const slowDry = slowUpload(service, token, '?dryRun=true');
    await slow.send(`${JSON.stringify(childRecord())}\n`);
    await slowDry.send(`${JSON.stringify(childRecord())}\n`);
    await sleep(200);
    // The upload's slot and the dry run's are taken: another upload waits, and so does another dry run.
    expect((await post(service, token, { sequenceNumber: 2, records: [childRecord()] }, '')).status).toBe(429);
    const waiting = await post(service, token, { sequenceNumber: 2, records: [childRecord()] });
    expect([waiting.status, waiting.headers.get('retry-after')]).toEqual([429, '5']);
    expect((await waiting.json()).issue[0].diagnostics).toMatch(/^another dry run of this LA is being received/);
    const [upload, dryRun] = await Promise.all([slow.finish(), slowDry.finish()]);
    expect([upload.status, JSON.parse(upload.body).result]).toEqual([201, 'CPF02']);
    expect([dryRun.status, JSON.parse(dryRun.body).dryRun]).toEqual([200, true]);
    expect((await post(service, token, { sequenceNumber: 2, records: [childRecord()] })).status).toBe(200);
  });
});

/** An NDJSON upload (sequence number 1) whose client sends its body in pieces, when told to. */
function slowUpload(service: TestService, token: string, query: string) {
  const { hostname, port } = new URL(service.url);
  let answered!: (answer: { status: number; body: string }) => void;
  const answer = new Promise<{ status: number; body: string }>((resolve) => (answered = resolve));
  const req = request({
    hostname, port, path: `/la/v1/uploads${query}`, method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' },
  }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => answered({ status: res.statusCode ?? 0, body }));
  });
  req.on('error', () => answered({ status: -1, body: '' }));
  req.flushHeaders();
  return { send: (text: string) => new Promise<void>((resolve) => req.write(text, () => resolve())), finish: () => (req.end(), answer) };
}
