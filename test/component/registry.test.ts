import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, movableClock } from '../support/clock.ts';
import { clinicianToken, includes, matches, searchFor } from '../support/care-setting.ts';
import { bareLaToken, laToken, startTestService, TEST_LA_PHONES, uploadJson, type TestService } from '../support/service.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticPhone } from '../support/synthetic.ts';

// Issue 16, item 1: the LA registry. Operators (role ops) register LAs and suspend or reinstate them
// through /ops/v1; with LA_REGISTRATION=required only a registered LA may publish, and a suspended LA
// may publish in neither mode. A suspended LA's plans are still served (README, The LA registry).

const WEEKDAYS = { timeZone: 'Europe/London', days: { mon: { opens: '09:00', closes: '17:00' }, fri: { opens: '09:00', closes: '16:30' } } };
const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const registration = (code: string, overrides: Record<string, unknown> = {}) => ({
  code, name: `${code} Borough Council`, officeHoursPhone: syntheticPhone(), edtPhone: syntheticPhone(), officeHours: WEEKDAYS, ...overrides,
});

type Outcome = { issue: { code: string; details: { coding: { code: string }[] }; diagnostics: string; expression?: string[] }[] };
function expectRefused(status: number, body: Outcome, expected: { status: number; code: string; diagnostics: RegExp }) {
  expect(status).toBe(expected.status);
  expect(body.issue[0]?.details.coding[0]?.code).toBe(expected.code);
  expect(body.issue[0]?.diagnostics).toMatch(expected.diagnostics);
}

/** Sends the headers and a first line of an NDJSON batch; `finish` sends the rest and resolves with the answer. */
function startUpload(service: TestService, token: string, sequenceNumber: number, lines: string[]) {
  const { hostname, port } = new URL(service.url);
  let answered: (value: { status: number; body: string }) => void = () => undefined;
  const answer = new Promise<{ status: number; body: string }>((resolve) => (answered = resolve));
  const req = request({
    hostname, port, path: '/la/v1/uploads', method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': String(sequenceNumber) },
  }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => answered({ status: res.statusCode ?? 0, body }));
  });
  req.write(`${lines[0]}\n`);
  return {
    answer,
    finish: () => {
      req.end(lines.slice(1).map((l) => `${l}\n`).join(''));
      return answer;
    },
  };
}

describe('the ops API, /ops/v1/las (LA_REGISTRATION=open)', () => {
  const clock = movableClock();
  let service: TestService;
  let db: pg.Pool;
  let ops: string;
  beforeAll(async () => {
    service = await startTestService({ clock, env: { RATE_LIMIT_PER_SECOND: '0' } });
    db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
    ops = await service.token({ role: 'ops', sub: 'ops-jo', name: 'Jo Operator', org: 'OPS01', org_name: 'Service operations' });
  });
  afterAll(async () => {
    await db?.end();
    await service?.stop();
  });
  const registryAudits = async (code: string) =>
    (await db.query(`SELECT action, outcome, user_id, user_role, nhs_number, detail FROM audit_events WHERE action LIKE 'la-%' AND detail->>'laCode' = $1 ORDER BY id`, [code])).rows;
  const entryOf = async (code: string) => {
    const res = await service.fetch(`/ops/v1/las/${code}`, { token: ops });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('registers an LA, lists it with the health of its feed by the service\'s clock, and audits it, with no patient data in any answer', async () => {
    const code = syntheticLaCode();
    const body = registration(code);
    const registered = await service.fetch('/ops/v1/las', { ...json('POST', body), token: ops });
    expect(registered.status).toBe(201);
    expect(registered.headers.get('location')).toBe(`/ops/v1/las/${code}`);
    expect(await registered.json()).toMatchObject({
      code, name: body.name, officeHoursPhone: body.officeHoursPhone, edtPhone: body.edtPhone,
      officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '09:00', closes: '17:00' }, tue: null, fri: { opens: '09:00', closes: '16:30' } } },
      registered: true, registeredAt: clock.now().toISOString(), registeredBy: 'ops-jo', status: 'active', statusChangedAt: null, statusReason: null,
      publishing: { allowed: true, refusal: null },
      feed: { lastUpload: null, plansHeld: 0, pdsVerifiedRatio: null, notifications: { unacknowledged: 0, oldestUnacknowledgedAgeSeconds: null } },
    });

    // The LA publishes at once (it needs no PUT of its own): one child loads, one record is refused.
    const system = await bareLaToken(service, code);
    const child = childRecord();
    const sent = await uploadJson(service, system, 7, [child, childRecord({ nhsNumber: badChecksumNhsNumber() })]);
    expect(await sent.json()).toMatchObject({ result: 'CPF03', loaded: 1, rejected: 1 });
    const uploadedAt = clock.now();
    await searchFor(service, await clinicianToken(service, { sub: `registry-dr-${code}` }), 'CareTeam', child.nhsNumber as string);

    clock.advance(2 * HOUR);
    const list = await service.fetch('/ops/v1/las', { token: ops });
    expect(list.status).toBe(200);
    const text = await list.text();
    const listed = JSON.parse(text);
    expect(listed).toMatchObject({ at: clock.now().toISOString(), registration: 'open' });
    expect(listed.las.map((la: { code: string }) => la.code)).toEqual([...listed.las.map((la: { code: string }) => la.code)].sort());
    expect(listed.las.find((la: { code: string }) => la.code === code).feed).toEqual({
      lastUpload: { receivedAt: uploadedAt.toISOString(), ageSeconds: 7200, sequenceNumber: 7, result: 'CPF03', refusals: [{ result: 'CPR07', code: 'NHS_NUMBER_CHECKSUM', count: 1 }] },
      plansHeld: 1,
      pdsVerifiedRatio: 0,
      notifications: { unacknowledged: 1, oldestUnacknowledgedAgeSeconds: 7200 },
    });
    expect(await entryOf(code)).toEqual(listed.las.find((la: { code: string }) => la.code === code));
    for (const value of [child.nhsNumber as string, child.familyName as string, 'Alex Sam']) expect(text).not.toContain(value);

    expect(await registryAudits(code)).toEqual([
      { action: 'la-register', outcome: 'ok', user_id: 'ops-jo', user_role: 'ops', nhs_number: null, detail: { laCode: code } },
    ]);

    // Registered once: an operator's second registration changes nothing.
    const again = await service.fetch('/ops/v1/las', { ...json('POST', registration(code, { name: 'Another name' })), token: ops });
    expectRefused(again.status, await again.json(), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_ALREADY_REGISTERED: / });
    expect((await entryOf(code)).name).toBe(body.name);
    expect(await registryAudits(code)).toHaveLength(1);
  });

  it('refuses a registration that fails its schema or its checks, naming each field and never a value, and registers nothing', async () => {
    const code = syntheticLaCode();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ ...registration(code), officeHours: undefined }, ['officeHours']],
      [{ ...registration(code), code: code.toLowerCase() }, ['code']],
      [{ ...registration(code), notes: 'x' }, ['key 6']],
      [registration(code, { officeHoursPhone: '+1 202 555 0100', edtPhone: '0113 496' }), ['officeHoursPhone', 'edtPhone']],
      [registration(code, { officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '17:00', closes: '09:00' } } } }), ['officeHours.days.mon.opens', 'officeHours.days.mon.closes']],
    ];
    for (const [body, fields] of cases) {
      const res = await service.fetch('/ops/v1/las', { ...json('POST', body), token: ops });
      const outcome = await res.json();
      expect(res.status, JSON.stringify(fields)).toBe(400);
      expect(outcome.issue.flatMap((i: { expression: string[] }) => i.expression)).toEqual(fields);
      expect(JSON.stringify(outcome)).not.toContain('202 555');
    }
    expect((await service.fetch(`/ops/v1/las/${code}`, { token: ops })).status).toBe(404);
  });

  it('registers an LA that set itself up with the details the operator gives; it was listed as not registered until then', async () => {
    const code = syntheticLaCode();
    const system = await laToken(service, code);
    expect(await entryOf(code)).toMatchObject({ registered: false, registeredAt: null, officeHoursPhone: TEST_LA_PHONES.officeHoursPhone, publishing: { allowed: true } });
    const body = registration(code);
    const res = await service.fetch('/ops/v1/las', { ...json('POST', body), token: ops });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ registered: true, registeredBy: 'ops-jo', officeHoursPhone: body.officeHoursPhone, edtPhone: body.edtPhone });
    expect((await (await service.fetch('/la/v1/organisation', { token: system })).json()).edtPhone).toBe(body.edtPhone);
  });

  it('suspends and reinstates an LA, saying who, when and why, audited; meanwhile its uploads are refused before they are read and its plans are still served', async () => {
    const code = syntheticLaCode();
    const system = await laToken(service, code);
    const child = childRecord();
    expect((await uploadJson(service, system, 1, [child])).status).toBe(201);

    const suspended = await service.fetch(`/ops/v1/las/${code}/suspend`, { ...json('POST', { reason: 'INC-1234: feed sending test data' }), token: ops });
    expect(suspended.status).toBe(200);
    expect(await suspended.json()).toMatchObject({
      status: 'suspended', statusChangedAt: clock.now().toISOString(), statusChangedBy: 'ops-jo', statusReason: 'INC-1234: feed sending test data',
      publishing: { allowed: false, refusal: 'LA_SUSPENDED' }, feed: { plansHeld: 1 },
    });

    const refused = startUpload(service, system, 2, [JSON.stringify(childRecord())]);
    const unread = await refused.answer;
    expectRefused(unread.status, JSON.parse(unread.body), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_SUSPENDED: the service's operators have suspended this LA's uploads; the plans already held are still served/ });
    const sent = await uploadJson(service, system, 2, [childRecord()]);
    expectRefused(sent.status, await sent.json(), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_SUSPENDED: / });

    // The clinician still sees the plan, and the LA's numbers, and the LA is still told.
    const bundle = await searchFor(service, await clinicianToken(service, { sub: `suspended-dr-${code}` }), 'CareTeam', child.nhsNumber as string);
    expect(matches(bundle)).toHaveLength(1);
    expect(JSON.stringify(includes(bundle).find((r) => r.resourceType === 'Organization'))).toContain(TEST_LA_PHONES.edtPhone.replace(/^0/, '+44').replaceAll(' ', ''));
    expect((await entryOf(code)).feed.notifications.unacknowledged).toBe(1);

    const twice = await service.fetch(`/ops/v1/las/${code}/suspend`, { ...json('POST', { reason: 'again' }), token: ops });
    expectRefused(twice.status, await twice.json(), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_ALREADY_SUSPENDED: / });

    clock.advance(HOUR);
    const reinstated = await service.fetch(`/ops/v1/las/${code}/reinstate`, { ...json('POST', { reason: 'INC-1234 resolved' }), token: ops });
    expect(reinstated.status).toBe(200);
    expect(await reinstated.json()).toMatchObject({ status: 'active', statusChangedAt: clock.now().toISOString(), statusReason: 'INC-1234 resolved', publishing: { allowed: true } });
    const notSuspended = await service.fetch(`/ops/v1/las/${code}/reinstate`, { ...json('POST', { reason: 'again' }), token: ops });
    expectRefused(notSuspended.status, await notSuspended.json(), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_NOT_SUSPENDED: / });

    // Sequence number 2 was never used.
    const loaded = await uploadJson(service, system, 2, [childRecord()]);
    expect(loaded.status).toBe(201);
    expect(loaded.headers.get('x-replayed')).toBeNull();

    expect((await registryAudits(code)).map((a) => [a.action, a.user_role, a.nhs_number, a.detail])).toEqual([
      ['la-suspend', 'ops', null, { laCode: code, reason: 'INC-1234: feed sending test data' }],
      ['la-reinstate', 'ops', null, { laCode: code, reason: 'INC-1234 resolved' }],
    ]);
    const uploads = await db.query(`SELECT detail FROM audit_events WHERE action = 'upload' AND organisation_code = $1 AND outcome = 'invalid' ORDER BY id`, [code]);
    expect(uploads.rows.map((r) => r.detail)).toEqual([
      { sequenceNumber: 2, result: null, code: 'PRECONDITION_FAILED', status: 409, reason: 'LA_SUSPENDED' },
      { sequenceNumber: null, result: null, code: 'PRECONDITION_FAILED', status: 409, reason: 'LA_SUSPENDED' },
    ]);
  });

  it('refuses, at its end, a batch that was being received when its LA was suspended: nothing loads and the sequence number stays free', async () => {
    const code = syntheticLaCode();
    const system = await laToken(service, code);
    const upload = startUpload(service, system, 1, [JSON.stringify(childRecord()), JSON.stringify(childRecord())]);
    await expect.poll(async () => (await db.query('SELECT 1 FROM upload_slots WHERE la_code = $1', [code])).rowCount).toBe(1);
    expect((await service.fetch(`/ops/v1/las/${code}/suspend`, { ...json('POST', { reason: 'INC-2' }), token: ops })).status).toBe(200);
    const answer = await upload.finish();
    expectRefused(answer.status, JSON.parse(answer.body), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_SUSPENDED: / });
    const held = await db.query('SELECT (SELECT count(*)::int FROM plans WHERE la_code = $1) AS plans, (SELECT count(*)::int FROM uploads WHERE la_code = $1) AS uploads', [code]);
    expect(held.rows).toEqual([{ plans: 0, uploads: 0 }]);
    expect((await service.fetch(`/ops/v1/las/${code}/reinstate`, { ...json('POST', { reason: 'INC-2 resolved' }), token: ops })).status).toBe(200);
    expect((await uploadJson(service, system, 1, [childRecord()])).status).toBe(201);
  });

  it('answers 404 for a code no LA has, and 400 naming the field for a status change without a reason', async () => {
    const unknown = syntheticLaCode();
    expect((await service.fetch(`/ops/v1/las/${unknown}`, { token: ops })).status).toBe(404);
    expect((await service.fetch('/ops/v1/las/not-a-code', { token: ops })).status).toBe(404);
    for (const move of ['suspend', 'reinstate']) expect((await service.fetch(`/ops/v1/las/${unknown}/${move}`, { ...json('POST', { reason: 'x' }), token: ops })).status).toBe(404);
    const code = syntheticLaCode();
    await laToken(service, code);
    for (const body of [{}, { reason: '   ' }, { reason: 'x', more: 1 }]) {
      const res = await service.fetch(`/ops/v1/las/${code}/suspend`, { ...json('POST', body), token: ops });
      expect(res.status).toBe(400);
      expect((await res.json()).issue[0].expression).toEqual([Object.keys(body).length > 1 ? 'key 2' : 'reason']);
    }
    expect((await entryOf(code)).status).toBe('active');
  });

  it('is for operators only: 401 without a token, 403 for every other role, even the LA\'s own system', async () => {
    const code = syntheticLaCode();
    await laToken(service, code);
    const others = [
      await clinicianToken(service), await bareLaToken(service, code), await bareLaToken(service, code, 'social-worker'),
    ];
    const calls: [string, RequestInit][] = [
      ['/ops/v1/las', {}], ['/ops/v1/las', json('POST', registration(syntheticLaCode()))], [`/ops/v1/las/${code}`, {}],
      [`/ops/v1/las/${code}/suspend`, json('POST', { reason: 'x' })], [`/ops/v1/las/${code}/reinstate`, json('POST', { reason: 'x' })],
    ];
    for (const [path, init] of calls) {
      expect((await service.fetch(path, init)).status, path).toBe(401);
      for (const token of others) expect((await service.fetch(path, { ...init, token })).status, path).toBe(403);
    }
    expect((await entryOf(code)).status).toBe('active');
  });
});

describe('LA_REGISTRATION=required', () => {
  let service: TestService;
  let db: pg.Pool;
  let ops: string;
  beforeAll(async () => {
    service = await startTestService({ env: { LA_REGISTRATION: 'required', RATE_LIMIT_PER_SECOND: '0' } });
    db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
    ops = await service.token({ role: 'ops', sub: 'ops-sam', org: 'OPS01' });
  });
  afterAll(async () => {
    await db?.end();
    await service?.stop();
  });

  it('refuses an LA no operator registered before reading its batch, though it set itself up; once registered it publishes, suspended it cannot, reinstated it can', async () => {
    const code = syntheticLaCode();
    const system = await laToken(service, code);
    const listed = await (await service.fetch('/ops/v1/las', { token: ops })).json();
    expect(listed.registration).toBe('required');
    expect(listed.las.find((la: { code: string }) => la.code === code)).toMatchObject({ registered: false, publishing: { allowed: false, refusal: 'LA_NOT_REGISTERED' } });

    const unread = await startUpload(service, system, 1, [JSON.stringify(childRecord())]).answer;
    expectRefused(unread.status, JSON.parse(unread.body), {
      status: 409, code: 'PRECONDITION_FAILED',
      diagnostics: /^LA_NOT_REGISTERED: this service takes uploads only from LAs its operators have registered \(LA_REGISTRATION=required\).*sequence number is still free$/,
    });
    expect(JSON.parse(unread.body).issue[0].code).toBe('business-rule');
    expect((await db.query('SELECT count(*)::int AS n FROM uploads WHERE la_code = $1', [code])).rows).toEqual([{ n: 0 }]);
    const audits = await db.query(`SELECT outcome, detail FROM audit_events WHERE action = 'upload' AND organisation_code = $1`, [code]);
    expect(audits.rows).toEqual([{ outcome: 'invalid', detail: { sequenceNumber: 1, result: null, code: 'PRECONDITION_FAILED', status: 409, reason: 'LA_NOT_REGISTERED' } }]);

    expect((await service.fetch('/ops/v1/las', { ...json('POST', registration(code)), token: ops })).status).toBe(201);
    const first = await uploadJson(service, system, 1, [childRecord()]);
    expect(first.status).toBe(201);
    expect(first.headers.get('x-replayed')).toBeNull();

    expect((await service.fetch(`/ops/v1/las/${code}/suspend`, { ...json('POST', { reason: 'INC-9' }), token: ops })).status).toBe(200);
    const suspended = await uploadJson(service, system, 2, [childRecord()]);
    expectRefused(suspended.status, await suspended.json(), { status: 409, code: 'PRECONDITION_FAILED', diagnostics: /^LA_SUSPENDED: / });
    expect((await service.fetch(`/ops/v1/las/${code}/reinstate`, { ...json('POST', { reason: 'INC-9 resolved' }), token: ops })).status).toBe(200);
    expect((await uploadJson(service, system, 2, [childRecord()])).status).toBe(201);
  });

  it('still lets an LA never registered set its own details (an operator can then see it waiting)', async () => {
    const code = syntheticLaCode();
    const res = await service.fetch('/la/v1/organisation', { ...json('PUT', { name: `${code} Council`, ...TEST_LA_PHONES }), token: await bareLaToken(service, code) });
    expect(res.status).toBe(200);
    expect((await (await service.fetch(`/ops/v1/las/${code}`, { token: ops })).json())).toMatchObject({ registered: false, publishing: { refusal: 'LA_NOT_REGISTERED' } });
  });
});
