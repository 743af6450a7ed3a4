import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, NHS_SYSTEM } from '../support/care-setting.ts';
import { countOfBothTrails } from '../support/audit-trails.ts';
import { badAuthorizationArb, expectSuccessOrOutcome, headerValueArb, requestIdArb, SAFE_REQUEST_ID, UUID } from '../support/arbitraries.ts';

// Property-based tests of the FHIR searches' query strings, of request headers on every API, and
// of the LA's organisation body: always a success or a 4xx OperationOutcome, with the audit trail,
// notifications and logs exactly as the contract says.

let service: TestService;
let db: pg.Pool;
let la: { org: string; token: string; nhs: string };
beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '0' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const record = childRecord();
  expect((await uploadJson(service, token, 1, [record])).status).toBe(201);
  la = { org, token, nhs: record.nhsNumber as string };
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const count = async (sql: string, values: unknown[]) => Number((await db.query<{ n: string }>(sql, values)).rows[0]?.n);
const errorLines = (mark: number) => service.logs.slice(mark).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

async function expectStillServing(mark: number) {
  expect((await service.fetch('/health/live')).status).toBe(200);
  const dr = await clinicianToken(service, { sub: 'known-good-dr' });
  const res = await service.fetch(`/cpis/FHIR/R4/Flag?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${la.nhs}`)}`, { token: dr });
  expect(res.status).toBe(200);
  expect((await res.json()).total).toBe(1);
  expect(errorLines(mark)).toEqual([]);
}

describe('fuzzing FHIR search parameters', () => {
  it('answers any query string with a Bundle or a 4xx OperationOutcome, audits every search once and notifies at most once', async () => {
    const mark = service.logs.length;
    const sub = `fuzz-dr-${syntheticLaCode()}`;
    const tokens = { B0107: await clinicianToken(service, { sub }), B0170: await clinicianToken(service, { sub, activities: ['B0170'] }) };
    const n = la.nhs;
    const name = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('patient:identifier', 'patient') },
      fc.constantFrom('patient:missing', 'patient:exact', 'patient.identifier', 'identifier', '_count', '_format', '_elements', 'patient[]', 'patient[a]',
        'patient:identifier[0]', 'a[b]', '__proto__', 'constructor', 'hasOwnProperty', '', 'PATIENT', 'patient:identifier:text'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
    );
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(n, `${NHS_SYSTEM}|${n}`, `Patient/${n}`) },
      fc.constantFrom(`${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`, `|${n}`, `${NHS_SYSTEM}|${n}|x`, `${NHS_SYSTEM}||${n}`, `http://example.invalid|${n}`,
        `${n}|${NHS_SYSTEM}`, '', '0000000000', `${n.slice(0, 9)}0`, `Patient/Patient/${n}`, `${NHS_SYSTEM}|`, 'x'.repeat(5000), `${n}\u0000`),
      fc.integer({ min: 1, max: 200 }).map((k) => `${'a|'.repeat(k)}${n}`),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
    );
    // Raw junk goes in after encoding, so the service sees it as sent: bad escapes, encoded NUL, truncated UTF-8.
    const junk = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, fc.constantFrom('%', '%zz', '%00', '%E0%A4%A', '%ED%A0%80', '%2', '%FF%FE', '+', '%2B', '%7C', '&', '&&', ';', '='));
    const pair = fc.tuple(name, value, fc.boolean(), junk).map(([k, v, rawName, j]) => {
      const key = rawName && /^[A-Za-z0-9:._[\]-]*$/.test(k) ? k : encodeURIComponent(k);
      return { key: k, text: `${key}=${encodeURIComponent(v)}${j}` };
    });
    // Often one well-formed patient among noise, so that searches also find the child and notify.
    const canonical = fc.constantFrom(`patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${n}`)}`, `patient=${n}`, `patient=Patient%2F${n}`)
      .map((text) => ({ key: text.startsWith('patient:identifier=') ? 'patient:identifier' : 'patient', text }));
    const noise = pair.filter((p) => p.key !== 'patient' && p.key !== 'patient:identifier');
    const pairs = fc.oneof(fc.array(pair, { maxLength: 5 }), fc.tuple(fc.array(noise, { maxLength: 3 }), canonical, fc.nat()).map(([others, one, at]) => others.toSpliced(at % (others.length + 1), 0, one)));
    const header = fc.option(fc.oneof(fc.constantFrom('true', 'false', 'TRUE', 'False', 'yes', '1', '0', 'true, false', 'null'), headerValueArb(100)), { freq: 2 });
    let sawNotifyingSearch = false;
    const notificationsBefore = await count('SELECT count(*) AS n FROM notifications WHERE la_code = $1', [la.org]);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Flag', 'CareTeam', 'AuditEvent'), pairs, header, fc.constantFrom('B0107', 'B0107', 'B0170'),
        async (resource, pairs, unscheduled, activity) => {
          const audited = await countOfBothTrails(db, 'user_id = $1', [sub]);
          const headers: Record<string, string> = unscheduled === null ? {} : { IsUnscheduledAccessEvent: unscheduled };
          const res = await service.fetch(`/cpis/FHIR/R4/${resource}?${pairs.map((p) => p.text).join('&')}`, {
            token: tokens[activity], headers, signal: AbortSignal.timeout(20_000),
          });
          const answer = await expectSuccessOrOutcome(res);
          expect([200, 400, 403, 406, 414]).toContain(answer.status);
          // An over-long URL, or a _format other than JSON (406), is refused before the search; every other
          // answer comes from it and is audited once.
          const before = answer.status === 414 || answer.status === 406;
          expect(await countOfBothTrails(db, 'user_id = $1', [sub])).toBe(audited + (before ? 0 : 1));
          if (before) return;
          const code = (answer.body as { issue?: { details: { coding: { code: string }[] } }[] }).issue?.[0]?.details.coding[0]?.code;
          const kind = unscheduled === null ? 'true' : unscheduled.trim().toLowerCase();
          if (kind !== 'true' && kind !== 'false') return void expect([answer.status, code]).toEqual([400, 'PRECONDITION_FAILED']);
          if (kind === 'true' && activity === 'B0170') return void expect([answer.status, code]).toEqual([403, 'ACCESS_DENIED']);
          const patients = pairs.filter((p) => p.key === 'patient' || p.key === 'patient:identifier');
          if (patients.length !== 1) return void expect([answer.status, code]).toEqual([400, 'INVALID_SEARCH_DATA']);
          if (answer.status !== 200) return void expect(code).toBe('INVALID_SEARCH_DATA');
          const bundle = answer.body as { resourceType: string; type: string; total: number };
          expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
          if (resource !== 'AuditEvent' && kind === 'true' && bundle.total > 0) sawNotifyingSearch = true;
        },
      ),
      { numRuns: 200 },
    );
    // One clinician, one child, within 24 hours: however many searches, at most one notification.
    expect(sawNotifyingSearch).toBe(true);
    expect(await count('SELECT count(*) AS n FROM notifications WHERE la_code = $1', [la.org])).toBe(notificationsBefore + (sawNotifyingSearch ? 1 : 0));
    await expectStillServing(mark);
  });
});

describe('fuzzing request headers', () => {
  it('answers any Authorization, Content-Type, Content-Encoding, Accept and request ids with a success or a 4xx OperationOutcome, echoing only safe ids', async () => {
    const mark = service.logs.length;
    const clinician = await clinicianToken(service, { sub: 'header-dr' });
    let sequence = 100;
    const endpoints = [
      { method: 'GET', path: '/la/v1/plans', token: la.token },
      { method: 'GET', path: '/la/v1/notifications?after=0', token: la.token },
      { method: 'PUT', path: '/la/v1/organisation', token: la.token, body: () => JSON.stringify({ name: 'Fuzzshire', officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999' }) },
      { method: 'POST', path: '/la/v1/notifications/ack', token: la.token, body: () => '{"upTo": 1}' },
      { method: 'POST', path: '/la/v1/notifications/stream-tickets', token: la.token },
      { method: 'POST', path: '/la/v1/uploads', token: la.token, body: () => `{"sequenceNumber": ${++sequence}, "records": []}` },
      { method: 'GET', path: `/cpis/FHIR/R4/CareTeam?patient=${la.nhs}`, token: clinician, headers: { IsUnscheduledAccessEvent: 'false' } },
      { method: 'GET', path: '/cpis/FHIR/R4/metadata' },
      { method: 'GET', path: '/health/live' },
    ];
    const contentType = fc.oneof(
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'APPLICATION/JSON',
        'application/fhir+json', 'text/csv', 'application/x-ndjson', 'text/plain', 'multipart/form-data; boundary=----x', 'application/json;;;',
        'application/json; charset="utf-8"', 'application/json; charset=', '*/*', ';', `application/json; x=${'y'.repeat(2000)}`),
      headerValueArb(),
    );
    const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 2 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...endpoints.keys()),
        fc.option(badAuthorizationArb(la.token), { freq: 3 }),
        fc.record({
          'content-type': optional(contentType),
          'content-encoding': optional(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-foo', 'gzip, gzip', 'GZIP', 'zstd')),
          accept: optional(fc.oneof(fc.constantFrom('application/fhir+json', 'application/xml', '*/*', 'text/html;q=0.9,*/*;q=0.1'), headerValueArb())),
          'x-request-id': optional(requestIdArb),
          traceid: optional(requestIdArb),
          'x-correlation-id': optional(requestIdArb),
        }),
        async (which, badAuthorization, fuzzed) => {
          const endpoint = endpoints[which] as (typeof endpoints)[number];
          const headers = new Headers(endpoint.headers);
          for (const [key, v] of Object.entries(fuzzed)) if (v !== null) headers.set(key, v);
          if (badAuthorization !== null) headers.set('authorization', badAuthorization);
          else if (endpoint.token) headers.set('authorization', `Bearer ${endpoint.token}`);
          const res = await service.fetch(endpoint.path, { method: endpoint.method, headers, body: endpoint.body?.(), signal: AbortSignal.timeout(20_000) });
          const answer = await expectSuccessOrOutcome(res);
          if (endpoint.token && badAuthorization !== null && answer.status !== 431) {
            expect(answer.status).toBe(401);
            expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
          }
          // The request id is the caller's only when it is safe to echo and to log; otherwise the service makes one.
          const given = headers.get('x-request-id') ?? headers.get('traceid');
          const id = res.headers.get('x-request-id') ?? '';
          if (given !== null && SAFE_REQUEST_ID.test(given) && answer.status !== 431) expect(id).toBe(given);
          else expect(id).toMatch(UUID);
          const correlation = headers.get('x-correlation-id');
          expect(res.headers.get('x-correlation-id')).toBe(correlation !== null && SAFE_REQUEST_ID.test(correlation) && answer.status !== 431 ? correlation : null);
          for (const unsafe of [given, correlation]) {
            if (unsafe !== null && !SAFE_REQUEST_ID.test(unsafe) && unsafe.length >= 12) expect(service.logs.slice(mark).join('\n')).not.toContain(unsafe);
          }
        },
      ),
      { numRuns: 200 },
    );
    await expectStillServing(mark);
  });
});

describe('fuzzing the organisation body', () => {
  it('stores a valid organisation exactly, and refuses anything else with a 400 that changes nothing', async () => {
    const mark = service.logs.length;
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    // Valid numbers, as written, with the national form the service answers.
    const NATIONAL: Record<string, string> = { '0113 496 0000': '0113 496 0000', '+44 (0)113 496 0999': '0113 496 0999', '020-7946-0123': '020 7946 0123' };
    const phone = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...Object.keys(NATIONAL)) }, fc.constantFrom('999', '', '01632 960000', '0113 496 0000 x2'), headerValueArb(30));
    const name = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }),
      fc.constantFrom('', 'x'.repeat(201), 'Fuzz\u0000shire', 'Fuzz\ud800shire', '\udc00', '=cmd|\' /C calc\'!A0', ' '),
    );
    const officeHours = fc.option(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant({ timeZone: 'Europe/London', days: ['mon', 'sat'], opens: '08:00', closes: '20:00' }) },
        { weight: 2, arbitrary: fc.constantFrom({ timeZone: 'Europe/London', staffed: '24/7' }, { timeZone: 'Europe/London', days: { sat: { opens: '10:00', closes: '14:00' }, sun: null } }) },
        fc.constantFrom(
          { timeZone: 'Europe/London', days: { mon: { opens: '17:00', closes: '09:00' } } }, { timeZone: 'Europe/London', staffed: '9-5' },
          { timeZone: 'Europe/London', days: { mon: { opens: '09:00' } } }, { timeZone: 'Europe/London', days: { someday: null } },
        ),
        fc.record({ timeZone: fc.constantFrom('Europe/London', 'UTC', ''), days: fc.subarray(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'xyz']), opens: fc.constantFrom('09:00', '24:00', '9:00'), closes: fc.constantFrom('17:00', '23:59', '') }),
        fc.constantFrom('09:00-17:00', [], null, 5),
      ),
    );
    const extra = fc.option(fc.constantFrom('"__proto__": {"name": "x"}', '"constructor": 1', '"code": "OTHER"', '"name": 5'), { freq: 4 });
    const orgRow = () => db.query('SELECT * FROM organisations WHERE code = $1', [org]).then((r) => r.rows);
    await fc.assert(
      fc.asyncProperty(name, phone, phone, officeHours, extra, async (n, office, edt, hours, more) => {
        const members = [`"name": ${JSON.stringify(n)}`, `"officeHoursPhone": ${JSON.stringify(office)}`, `"edtPhone": ${JSON.stringify(edt)}`];
        if (hours !== null) members.push(`"officeHours": ${JSON.stringify(hours)}`);
        if (more !== null) members.push(more);
        const before = await orgRow();
        const res = await service.fetch('/la/v1/organisation', {
          method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: `{${members.join(',')}}`, signal: AbortSignal.timeout(20_000),
        });
        const answer = await expectSuccessOrOutcome(res);
        if (answer.status === 200) {
          expect(answer.body).toMatchObject({ code: org, name: n, officeHoursPhone: NATIONAL[office], edtPhone: NATIONAL[edt] });
          expect((await orgRow())[0]).toMatchObject({ name: n });
        } else {
          expect(answer.status).toBe(400);
          expect(await orgRow()).toEqual(before);
        }
      }),
      { numRuns: 100 },
    );
    await expectStillServing(mark);
  });
});
