import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { bareLaToken, startTestService, TEST_LA_PHONES, uploadJson, type TestService } from '../support/service.ts';

// Issue 11: "No number to ring". An LA without both an office-hours and an EDT number cannot publish.
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService();
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

/** Sends the headers and a first line of an NDJSON batch, and never the rest: the answer can only come before the body is read. */
function unfinishedUpload(token: string, sequenceNumber: number): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const req = request({
      hostname, port, path: '/la/v1/uploads', method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': String(sequenceNumber) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(`${JSON.stringify(childRecord())}\n`);
  });
}

const heldFor = async (org: string) => {
  const { rows } = await db.query(
    `SELECT (SELECT count(*)::int FROM plans WHERE la_code = $1) AS plans, (SELECT count(*)::int FROM uploads WHERE la_code = $1) AS uploads,
            (SELECT count(*)::int FROM upload_slots WHERE la_code = $1) AS slots, (SELECT count(*)::int FROM organisations WHERE code = $1) AS organisations`,
    [org],
  );
  return rows[0];
};
const uploadAudits = async (org: string) =>
  (await db.query(`SELECT outcome, detail FROM audit_events WHERE action = 'upload' AND organisation_code = $1 ORDER BY id`, [org])).rows;

function expectContactMissing(status: number, outcome: { issue: { code: string; details: { coding: { code: string }[] }; diagnostics: string }[] }, missing: string) {
  expect(status).toBe(409);
  expect(outcome.issue).toHaveLength(1);
  expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'business-rule', details: { coding: [{ code: 'PRECONDITION_FAILED' }] } });
  expect(outcome.issue[0]?.diagnostics).toMatch(/^LA_CONTACT_MISSING: set both the office-hours and the EDT phone numbers with PUT \/la\/v1\/organisation before publishing/);
  expect(outcome.issue[0]?.diagnostics).toContain(`(missing: ${missing})`);
}

describe('publishing needs both phone numbers', () => {
  it('refuses an LA never set up with 409 before reading the body: nothing written, the sequence number free, the refusal audited', async () => {
    const org = syntheticLaCode();
    const token = await bareLaToken(service, org);
    const answer = await unfinishedUpload(token, 1);
    expectContactMissing(answer.status, JSON.parse(answer.body), 'officeHoursPhone, edtPhone');
    const json = await uploadJson(service, token, 1, [childRecord()]);
    expectContactMissing(json.status, await json.json(), 'officeHoursPhone, edtPhone');
    // The LA no longer comes into being at its first upload.
    expect(await heldFor(org)).toEqual({ plans: 0, uploads: 0, slots: 0, organisations: 0 });
    const refusal = { code: 'PRECONDITION_FAILED', status: 409, result: null, reason: 'LA_CONTACT_MISSING', missing: ['officeHoursPhone', 'edtPhone'] };
    expect(await uploadAudits(org)).toEqual([
      { outcome: 'invalid', detail: { ...refusal, sequenceNumber: 1 } },
      // The JSON body, where its sequence number was, was never read.
      { outcome: 'invalid', detail: { ...refusal, sequenceNumber: null } },
    ]);

    // Once both numbers are set, the same sequence number is a new batch, not a replay.
    const put = await service.fetch('/la/v1/organisation', {
      method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${org} Council`, ...TEST_LA_PHONES }),
    });
    expect(put.status).toBe(200);
    const loaded = await uploadJson(service, token, 1, [childRecord()]);
    expect(loaded.status).toBe(201);
    expect(loaded.headers.get('x-replayed')).toBeNull();
    expect(await loaded.json()).toMatchObject({ sequenceNumber: 1, result: 'CPF02', loaded: 1 });
    expect(await heldFor(org)).toEqual({ plans: 1, uploads: 1, slots: 0, organisations: 1 });
  });

  it('refuses an LA held with only one of its numbers (as an LA set before numbers were required may be)', async () => {
    const org = syntheticLaCode();
    await db.query('INSERT INTO organisations (code, name, office_hours_phone, edt_phone, office_hours) VALUES ($1, $2, $3, NULL, $4)', [
      org, `${org} Council`, '+441134960500', JSON.stringify(DEFAULT_OFFICE_HOURS),
    ]);
    const res = await uploadJson(service, await bareLaToken(service, org), 1, [childRecord()]);
    expectContactMissing(res.status, await res.json(), 'edtPhone');
    expect(await heldFor(org)).toMatchObject({ plans: 0, uploads: 0 });
    expect((await uploadAudits(org)).map((a) => a.detail.missing)).toEqual([['edtPhone']]);
  });
});
