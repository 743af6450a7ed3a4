import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { setUpTestLa, startTestService, TEST_LA_PHONES, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, NHS_SYSTEM } from '../support/care-setting.ts';
import { fhirJsonPost, notBroughtReport } from '../support/not-brought.ts';
import { remoteRouteTo, requestVia, type RemoteRoute } from '../support/network.ts';
import { registeredRoutes } from '../support/routes.ts';
import { spawnService } from '../support/process.ts';
import { sharedKeyTokens } from '../support/shared-key.ts';
import { STREAM_PATH } from '../../src/realtime/stream-server.ts';

// README, Privacy: no answer of the service may be stored by a browser, a proxy or a shared cache.
// Every route the app registers is called here once it succeeds and, where it takes a token, once
// it is refused, and every answer must say `Cache-Control: no-store`.

type Answer = { status: number; cacheControl: string | undefined };
type Call = { what: string; status: number; answer: () => Promise<Answer> };
type RouteCalls = { open?: true; ok: Call[]; refused: Call[] };

let service: TestService;
let remote: RemoteRoute;
let db: pg.Pool;
// Batch 2 first, so that batch 1 is always a sequence number going back.
const la = { org: syntheticLaCode(), child: childRecord(), uploadId: '', seq: 2 };

beforeAll(async () => {
  // A low rate limit, so that a 429 is easy to earn; every other call below has a token subject of its own.
  // A test instance listens on loopback only: calls "from another host" come from 127.0.0.2 (support/network.ts).
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '3' } });
  remote = remoteRouteTo(service.url);
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 1 });
  await setUpTestLa(service.url, await laSystem(), `${la.org} Council`);
  const ack = await (await uploadJson(service, await laSystem(), la.seq, [la.child, childRecord({ nhsNumber: badChecksumNhsNumber() })])).json();
  expect(ack).toMatchObject({ loaded: 1, rejected: 1 });
  la.uploadId = ack.uploadId;
  expect((await service.fetch(searchPath('CareTeam', la.child.nhsNumber as string), { token: await clinician() })).status).toBe(200);
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);
const sub = () => `no-store-${randomUUID()}`;
const laSystem = () => service.token({ role: 'la-system', sub: sub(), org: la.org, org_name: `${la.org} Council` });
const worker = () => service.token({ role: 'social-worker', sub: sub(), org: la.org, org_name: `${la.org} Council` });
const ops = () => service.token({ role: 'ops', sub: sub(), org: 'OPS01' });
const clinician = (activities?: string[]) => clinicianToken(service, { sub: sub(), activities });
const searchPath = (type: string, nhs: string) => `/cpis/FHIR/R4/${type}?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`;

async function http(pathAndQuery: string, token?: string | Promise<string>, init: RequestInit = {}): Promise<Answer> {
  const res = await service.fetch(pathAndQuery, { ...init, token: await token });
  await res.arrayBuffer();
  return { status: res.status, cacheControl: res.headers.get('cache-control') ?? undefined };
}
const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function fromAnotherHost(pathAndQuery: string, token?: Promise<string>): Promise<Answer> {
  const bearer = await token;
  const res = await requestVia(remote, pathAndQuery, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  return { status: res.status, cacheControl: header(res.headers['cache-control']) };
}

/** Opens the stream, or is refused: the 101 and the refusal both count as answers. */
function upgrade(baseUrl: string, query: string, token?: string | Promise<string>): Promise<Answer> {
  return Promise.resolve(token).then(
    (bearer) =>
      new Promise<Answer>((resolve, reject) => {
        const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}${STREAM_PATH}${query}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
        let opened: Answer | undefined;
        ws.once('upgrade', (res) => (opened = { status: res.statusCode ?? 0, cacheControl: header(res.headers['cache-control']) }));
        ws.once('open', () => {
          ws.close();
          resolve(opened as Answer);
        });
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, cacheControl: header(res.headers['cache-control']) });
        });
        ws.on('error', reject);
      }),
  );
}

async function ticket(): Promise<string> {
  const res = await service.fetch('/la/v1/notifications/stream-tickets', { method: 'POST', token: await worker() });
  return ((await res.json()) as { ticket: string }).ticket;
}

const call = (what: string, status: number, answer: () => Promise<Answer>): Call => ({ what, status, answer });
const fhirSearch = (type: 'CareTeam' | 'Flag' | 'AuditEvent', refusedAs: [string, () => Promise<string>]): RouteCalls => ({
  ok: [call('found', 200, () => http(searchPath(type, la.child.nhsNumber as string), clinician()))],
  refused: [
    call('no token', 401, () => http(searchPath(type, la.child.nhsNumber as string))),
    call(refusedAs[0], 403, () => http(searchPath(type, la.child.nhsNumber as string), refusedAs[1]())),
  ],
});

const form = (type: string, nhs: string): RequestInit => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`,
});
const fhirPostSearch = (type: 'CareTeam' | 'Flag' | 'AuditEvent'): RouteCalls => ({
  ok: [call('found', 200, () => http(`/cpis/FHIR/R4/${type}/_search`, clinician(), form(type, la.child.nhsNumber as string)))],
  refused: [
    call('no token', 401, () => http(`/cpis/FHIR/R4/${type}/_search`, undefined, form(type, la.child.nhsNumber as string))),
    call('an LA system', 403, () => http(`/cpis/FHIR/R4/${type}/_search`, laSystem(), form(type, la.child.nhsNumber as string))),
    call('not a form', 415, () => http(`/cpis/FHIR/R4/${type}/_search`, clinician(), json('POST', {}))),
    call('GET on _search', 405, () => http(`/cpis/FHIR/R4/${type}/_search`, clinician())),
  ],
});

const CALLS: Record<string, RouteCalls> = {
  'GET /health/live': { open: true, ok: [call('live', 200, () => http('/health/live'))], refused: [] },
  'GET /health/ready': { open: true, ok: [call('ready', 200, () => http('/health/ready'))], refused: [] },
  'GET /metrics': {
    ok: [call('local scraper', 200, () => http('/metrics')), call('ops from another host', 200, () => fromAnotherHost('/metrics', ops()))],
    refused: [
      call('no token from another host', 401, () => fromAnotherHost('/metrics')),
      call('clinician from another host', 403, () => fromAnotherHost('/metrics', clinician())),
    ],
  },
  'GET /console/*': {
    open: true,
    ok: [call('page', 200, () => http('/console/')), call('module', 200, () => http('/console/app.js'))],
    refused: [call('missing file', 404, () => http('/console/no-such-file.js'))],
  },
  'GET /console/session': { open: true, ok: [call('session mode', 200, () => http('/console/session'))], refused: [] },
  'POST /console/dev-sign-in': {
    open: true,
    ok: [call('demo sign-in', 201, () => http('/console/dev-sign-in', undefined, json('POST', { org: la.org })))],
    refused: [call('bad LA code', 400, () => http('/console/dev-sign-in', undefined, json('POST', { org: '../x' })))],
  },
  'GET /cpis/FHIR/R4/metadata': { open: true, ok: [call('CapabilityStatement', 200, () => http('/cpis/FHIR/R4/metadata'))], refused: [] },
  'GET /cpis/FHIR/R4/CareTeam': {
    ok: [
      call('found', 200, () => http(searchPath('CareTeam', la.child.nhsNumber as string), clinician())),
      call('not found', 200, () => http(searchPath('CareTeam', syntheticNhsNumber()), clinician())),
    ],
    refused: [
      call('no token', 401, () => http(searchPath('CareTeam', la.child.nhsNumber as string))),
      call('an LA system', 403, () => http(searchPath('CareTeam', la.child.nhsNumber as string), laSystem())),
      call('bad IsUnscheduledAccessEvent', 400, () => http(searchPath('CareTeam', la.child.nhsNumber as string), clinician(), { headers: { IsUnscheduledAccessEvent: 'maybe' } })),
      call('bad NHS number', 400, () => http(searchPath('CareTeam', badChecksumNhsNumber()), clinician())),
    ],
  },
  'GET /cpis/FHIR/R4/Flag': fhirSearch('Flag', ['silent-read activity only', () => clinician(['B0170'])]),
  'GET /cpis/FHIR/R4/AuditEvent': fhirSearch('AuditEvent', ['ops', ops]),
  'POST /cpis/FHIR/R4/CareTeam/_search': fhirPostSearch('CareTeam'),
  'POST /cpis/FHIR/R4/Flag/_search': fhirPostSearch('Flag'),
  'POST /cpis/FHIR/R4/AuditEvent/_search': fhirPostSearch('AuditEvent'),
  'POST /cpis/FHIR/R4/Communication': {
    ok: [
      call('LA told', 201, () => http('/cpis/FHIR/R4/Communication', clinician(['B0170']), fhirJsonPost(notBroughtReport(la.child.nhsNumber as string)))),
      call('no plan', 201, () => http('/cpis/FHIR/R4/Communication', clinician(['B0170']), fhirJsonPost(notBroughtReport(syntheticNhsNumber())))),
    ],
    refused: [
      call('no token', 401, () => http('/cpis/FHIR/R4/Communication', undefined, fhirJsonPost(notBroughtReport(la.child.nhsNumber as string)))),
      call('a social worker', 403, () => http('/cpis/FHIR/R4/Communication', worker(), fhirJsonPost(notBroughtReport(la.child.nhsNumber as string)))),
      call('bad phone', 400, () => http('/cpis/FHIR/R4/Communication', clinician(), fhirJsonPost(notBroughtReport(la.child.nhsNumber as string, { phone: '12' })))),
      call('not FHIR JSON', 415, () => http('/cpis/FHIR/R4/Communication', clinician(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })),
      call('GET', 405, () => http('/cpis/FHIR/R4/Communication', clinician())),
    ],
  },
  'GET /la/v1/openapi.json': { open: true, ok: [call('OpenAPI document', 200, () => http('/la/v1/openapi.json'))], refused: [] },
  'GET /la/v1/asyncapi.json': { open: true, ok: [call('AsyncAPI document', 200, () => http('/la/v1/asyncapi.json'))], refused: [] },
  'GET /la/v1/organisation': {
    ok: [call('LA system', 200, () => http('/la/v1/organisation', laSystem()))],
    refused: [call('no token', 401, () => http('/la/v1/organisation')), call('clinician', 403, () => http('/la/v1/organisation', clinician()))],
  },
  'PUT /la/v1/organisation': {
    ok: [call('LA system', 200, () => http('/la/v1/organisation', laSystem(), json('PUT', { name: 'No-store Council', ...TEST_LA_PHONES })))],
    refused: [
      call('no token', 401, () => http('/la/v1/organisation', undefined, json('PUT', {}))),
      call('social worker', 403, () => http('/la/v1/organisation', worker(), json('PUT', { name: 'x' }))),
      call('unknown field', 400, () => http('/la/v1/organisation', laSystem(), json('PUT', { name: 'x', colour: 'red' }))),
      call('unsupported content type', 415, () => http('/la/v1/organisation', laSystem(), { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{}' })),
    ],
  },
  'GET /la/v1/duty-teams': {
    ok: [call('LA system', 200, () => http('/la/v1/duty-teams', laSystem()))],
    refused: [call('no token', 401, () => http('/la/v1/duty-teams')), call('clinician', 403, () => http('/la/v1/duty-teams', clinician()))],
  },
  'PUT /la/v1/duty-teams': {
    ok: [call('LA system', 200, () => http('/la/v1/duty-teams', laSystem(), json('PUT', { teams: [{ code: 'DAY', name: 'Day', phone: TEST_LA_PHONES.officeHoursPhone }], routing: { inHours: 'DAY', outOfHours: 'DAY' } })))],
    refused: [
      call('no token', 401, () => http('/la/v1/duty-teams', undefined, json('PUT', {}))),
      call('social worker', 403, () => http('/la/v1/duty-teams', worker(), json('PUT', {}))),
      call('bad body', 400, () => http('/la/v1/duty-teams', laSystem(), json('PUT', { teams: [] }))),
    ],
  },
  'DELETE /la/v1/duty-teams': {
    ok: [call('LA system', 200, () => http('/la/v1/duty-teams', laSystem(), { method: 'DELETE' }))],
    refused: [call('no token', 401, () => http('/la/v1/duty-teams', undefined, { method: 'DELETE' })), call('social worker', 403, () => http('/la/v1/duty-teams', worker(), { method: 'DELETE' }))],
  },
  'GET /la/v1/notifications/acknowledgements': {
    ok: [call('acknowledgements', 200, () => http('/la/v1/notifications/acknowledgements', worker()))],
    refused: [call('no token', 401, () => http('/la/v1/notifications/acknowledgements')), call('bad after', 400, () => http('/la/v1/notifications/acknowledgements?after=x', worker()))],
  },
  'POST /la/v1/uploads': {
    ok: [
      call('new batch', 201, async () => http('/la/v1/uploads', laSystem(), json('POST', { sequenceNumber: ++la.seq, records: [childRecord()] }))),
      call('dry run', 200, async () => http('/la/v1/uploads?dryRun=true', laSystem(), json('POST', { sequenceNumber: la.seq + 1, records: [childRecord()] }))),
    ],
    refused: [
      call('no token', 401, () => http('/la/v1/uploads', undefined, json('POST', { sequenceNumber: 99, records: [] }))),
      call('sequence number going back', 409, () => http('/la/v1/uploads', laSystem(), json('POST', { sequenceNumber: 1, records: [childRecord()] }))),
      call('unsupported content type', 415, () => http('/la/v1/uploads', laSystem(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })),
    ],
  },
  'GET /la/v1/uploads/:uploadId/refusals': {
    ok: [call('own batch', 200, () => http(`/la/v1/uploads/${la.uploadId}/refusals`, laSystem()))],
    refused: [
      call('no token', 401, () => http(`/la/v1/uploads/${la.uploadId}/refusals`)),
      call('unknown batch', 404, () => http(`/la/v1/uploads/${randomUUID()}/refusals`, laSystem())),
    ],
  },
  'GET /la/v1/refusals': {
    ok: [call('worklist', 200, () => http('/la/v1/refusals', laSystem()))],
    refused: [call('no token', 401, () => http('/la/v1/refusals')), call('bad after', 400, () => http('/la/v1/refusals?after=x', laSystem()))],
  },
  'GET /la/v1/reports/usage': {
    ok: [
      call('JSON', 200, () => http('/la/v1/reports/usage?month=2026-01', worker())),
      call('CSV', 200, () => http('/la/v1/reports/usage?month=2026-01&format=csv', laSystem())),
    ],
    refused: [call('no token', 401, () => http('/la/v1/reports/usage?month=2026-01')), call('bad month', 400, () => http('/la/v1/reports/usage?month=2026-1', laSystem()))],
  },
  'GET /ops/v1/reports/usage': {
    ok: [call('all LAs', 200, () => http('/ops/v1/reports/usage?month=2026-01', ops())), call('CSV', 200, () => http('/ops/v1/reports/usage?month=2026-01&format=csv', ops()))],
    refused: [call('no token', 401, () => http('/ops/v1/reports/usage?month=2026-01')), call('an LA system', 403, () => http('/ops/v1/reports/usage?month=2026-01', laSystem()))],
  },
  'GET /la/v1/plans': {
    ok: [call('extract', 200, () => http('/la/v1/plans', laSystem()))],
    refused: [call('no token', 401, () => http('/la/v1/plans')), call('bad limit', 400, () => http('/la/v1/plans?limit=0', laSystem()))],
  },
  'GET /la/v1/notifications': {
    ok: [call('mailbox', 200, () => http('/la/v1/notifications?after=0', worker()))],
    refused: [call('no token', 401, () => http('/la/v1/notifications')), call('clinician', 403, () => http('/la/v1/notifications', clinician()))],
  },
  'POST /la/v1/notifications/ack': {
    ok: [call('ack', 200, () => http('/la/v1/notifications/ack', worker(), json('POST', { upTo: 1 })))],
    refused: [
      call('no token', 401, () => http('/la/v1/notifications/ack', undefined, json('POST', { upTo: 1 }))),
      call('bad body', 400, () => http('/la/v1/notifications/ack', worker(), json('POST', { upTo: 'all' }))),
      call('unsupported content type', 415, () => http('/la/v1/notifications/ack', worker(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"upTo":1}' })),
    ],
  },
  'POST /la/v1/notifications/stream-tickets': {
    ok: [call('ticket', 201, () => http('/la/v1/notifications/stream-tickets', worker(), { method: 'POST' }))],
    refused: [
      call('no token', 401, () => http('/la/v1/notifications/stream-tickets', undefined, { method: 'POST' })),
      call('ops', 403, () => http('/la/v1/notifications/stream-tickets', ops(), { method: 'POST' })),
    ],
  },
  'GET /ops/v1/las': {
    ok: [call('registry', 200, () => http('/ops/v1/las', ops()))],
    refused: [call('no token', 401, () => http('/ops/v1/las')), call('LA system', 403, () => http('/ops/v1/las', laSystem()))],
  },
  'POST /ops/v1/las': {
    ok: [call('registered', 201, () => http('/ops/v1/las', ops(), json('POST', { code: syntheticLaCode(), name: 'No-store Council', ...TEST_LA_PHONES, officeHours: { timeZone: 'Europe/London', staffed: '24/7' } })))],
    refused: [
      call('no token', 401, () => http('/ops/v1/las', undefined, json('POST', {}))),
      call('bad body', 400, () => http('/ops/v1/las', ops(), json('POST', { code: 'x' }))),
    ],
  },
  'GET /ops/v1/las/:code': {
    ok: [call('one LA', 200, () => http(`/ops/v1/las/${la.org}`, ops()))],
    refused: [call('no token', 401, () => http(`/ops/v1/las/${la.org}`)), call('unknown LA', 404, () => http(`/ops/v1/las/${syntheticLaCode()}`, ops()))],
  },
  // An LA of their own, so that the LA the other calls publish as is never suspended.
  'POST /ops/v1/las/:code/suspend': {
    ok: [call('suspended', 200, async () => {
      const code = syntheticLaCode();
      await setUpTestLa(service.url, await service.token({ role: 'la-system', org: code }), `${code} Council`);
      return http(`/ops/v1/las/${code}/suspend`, ops(), json('POST', { reason: 'no-store' }));
    })],
    refused: [
      call('no token', 401, () => http(`/ops/v1/las/${la.org}/suspend`, undefined, json('POST', { reason: 'x' }))),
      call('not suspended twice', 409, async () => {
        const code = syntheticLaCode();
        await setUpTestLa(service.url, await service.token({ role: 'la-system', org: code }), `${code} Council`);
        await http(`/ops/v1/las/${code}/suspend`, ops(), json('POST', { reason: 'no-store' }));
        return http(`/ops/v1/las/${code}/suspend`, ops(), json('POST', { reason: 'no-store' }));
      }),
    ],
  },
  'POST /ops/v1/las/:code/reinstate': {
    ok: [call('reinstated', 200, async () => {
      const code = syntheticLaCode();
      await setUpTestLa(service.url, await service.token({ role: 'la-system', org: code }), `${code} Council`);
      await http(`/ops/v1/las/${code}/suspend`, ops(), json('POST', { reason: 'no-store' }));
      return http(`/ops/v1/las/${code}/reinstate`, ops(), json('POST', { reason: 'no-store' }));
    })],
    refused: [
      call('no token', 401, () => http(`/ops/v1/las/${la.org}/reinstate`, undefined, json('POST', { reason: 'x' }))),
      call('not suspended', 409, () => http(`/ops/v1/las/${la.org}/reinstate`, ops(), json('POST', { reason: 'x' }))),
    ],
  },
  [`WS ${STREAM_PATH}`]: {
    ok: [call('bearer', 101, () => upgrade(service.url, '', worker())), call('ticket', 101, async () => upgrade(service.url, `?ticket=${await ticket()}`))],
    refused: [
      call('no token', 401, () => upgrade(service.url, '')),
      call('clinician', 403, () => upgrade(service.url, '', clinician())),
      call('after beyond the last event', 400, () => upgrade(service.url, '?after=999999', worker())),
    ],
  },
};

const cases = Object.entries(CALLS).flatMap(([route, calls]) =>
  [...calls.ok.map((c) => ['succeeds', c] as const), ...calls.refused.map((c) => ['is refused', c] as const)].map(
    ([kind, c]) => [`${route} ${kind} (${c.what}, ${c.status})`, c] as const,
  ),
);

describe('Cache-Control: no-store on every answer', () => {
  it('has a successful and a refused call for every route the app registers (and the stream upgrade), 401 among the refusals of each that takes a token', () => {
    const registered = [...registeredRoutes(service.composition.app), `WS ${STREAM_PATH}`];
    expect(Object.keys(CALLS).sort()).toEqual(registered.sort());
    for (const [route, calls] of Object.entries(CALLS)) {
      expect(calls.ok.length, route).toBeGreaterThan(0);
      if (calls.open) continue;
      expect(calls.refused.map((c) => c.status), route).toContain(401);
      expect(calls.refused.filter((c) => c.status !== 401).length, route).toBeGreaterThan(0);
    }
  });

  it.each(cases)('%s', async (_title, c) => {
    expect(await c.answer()).toEqual({ status: c.status, cacheControl: 'no-store' });
  });

  it('on unknown paths (404) under the APIs and outside them', async () => {
    for (const [where, token] of [['/la/v1/no-such-thing', laSystem()], ['/cpis/FHIR/R4/Patient', clinician()], ['/no-such-thing', undefined]] as const) {
      expect(await http(where, token)).toEqual({ status: 404, cacheControl: 'no-store' });
    }
  });

  it('on 429s, over HTTP and on the stream upgrade', async () => {
    const token = await laSystem();
    // Six at once spend the burst of three; four upgrades right after find at most one token refilled.
    const answers = await Promise.all(Array.from({ length: 6 }, () => http('/la/v1/plans', token)));
    const upgrades = await Promise.all(Array.from({ length: 4 }, () => upgrade(service.url, '', token)));
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(upgrades.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    for (const a of [...answers, ...upgrades]) expect(a).toMatchObject({ status: expect.toBeOneOf([200, 101, 429]), cacheControl: 'no-store' });
  });

  it('on a fault of ours (500), on the FHIR and the LA APIs', async () => {
    await db.query(`ALTER TABLE audit_events ADD CONSTRAINT refuse_for_no_store CHECK (action NOT IN ('upload', 'search:Flag')) NOT VALID`);
    try {
      expect(await http('/la/v1/uploads', laSystem(), json('POST', { sequenceNumber: ++la.seq, records: [childRecord()] }))).toEqual({ status: 500, cacheControl: 'no-store' });
      expect(await http(searchPath('Flag', la.child.nhsNumber as string), clinician())).toEqual({ status: 500, cacheControl: 'no-store' });
    } finally {
      await db.query('ALTER TABLE audit_events DROP CONSTRAINT refuse_for_no_store');
    }
  });

  it("on what Node's parser refuses (431) and on over-long URLs (414)", async () => {
    expect(await http(`/la/v1/plans?${'a'.repeat(5000)}`, laSystem())).toEqual({ status: 414, cacheControl: 'no-store' });
    const refused = await new Promise<Answer>((resolve, reject) => {
      const { hostname, port } = new URL(service.url);
      const req = request({ hostname, port, path: '/la/v1/plans', headers: { 'x-padding': 'a'.repeat(20_000) } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, cacheControl: header(res.headers['cache-control']) });
      });
      req.on('error', reject);
      req.end();
    });
    expect(refused).toEqual({ status: 431, cacheControl: 'no-store' });
  });
});

describe('Cache-Control: no-store while the instance starts', () => {
  it('on the 503s of every endpoint and of the stream upgrade', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-no-store-'));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const token = await (await sharedKeyTokens(dataDir))({ sub: 'early-worker', role: 'social-worker', org: la.org });
    const instance = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: `postgres://cpis:unused@127.0.0.1:${port}/cpis`, DATABASE_STARTUP_TIMEOUT_SECONDS: '60' }, 30_000, { until: 'health' });
    try {
      const answer = async (pathAndQuery: string) => {
        const res = await fetch(`${instance.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        return { status: res.status, cacheControl: res.headers.get('cache-control') ?? undefined };
      };
      expect(await answer('/la/v1/notifications')).toEqual({ status: 503, cacheControl: 'no-store' });
      expect(await answer(searchPath('CareTeam', la.child.nhsNumber as string))).toEqual({ status: 503, cacheControl: 'no-store' });
      expect(await answer('/health/ready')).toEqual({ status: 503, cacheControl: 'no-store' });
      expect(await upgrade(instance.url, '', token)).toEqual({ status: 503, cacheControl: 'no-store' });
    } finally {
      instance.child.kill('SIGTERM');
      expect((await instance.exited).code).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
