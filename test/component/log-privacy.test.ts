import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadOrCreateDevKey, mintDevToken, type TokenClaims } from '../../adapters/auth/dev-keys.ts';
import { createTestDatabase, type TestService } from '../support/service.ts';
import { spawnService, type ServiceProcess } from '../support/process.ts';
import { openStream } from '../support/stream-client.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber, yearsAgo, type RecordInput } from '../support/synthetic.ts';
import { NHS_SYSTEM } from '../support/care-setting.ts';
import {
  dateForms, describeLeak, findLeaks, nhsNumberForms, opaqueForms, phoneForms, postcodeForms, secretsOf, tokenForms, type Secret,
} from '../support/log-scan.ts';

// The whole service as an operator runs it, at the chattiest log level, through every kind of
// request it serves; then its captured stdout and stderr are searched for every value that must
// never be logged (README, Operations: no NHS number, name, birth date or token in any log line).

const FAMILY = ['Quarrendon', 'Vellacott', 'Ashgrove-Pym', 'Tarrant-Oduya', 'Brightwater', 'Okonkwo-Lisle', 'Fenwick-Saye', 'Ravensworth'];
const GIVEN = ['Peregrine Alaric', 'Marigold', 'Thaddeus Orrin', 'Isolde', 'Caspian Leofric', 'Wilhelmina', 'Ottoline', 'Bartholomew Quin'];
const POSTCODES = ['ZE2 9QJ', 'KW15 1NA', 'HS1 2XY', 'TD14 5BQ', 'PH41 4QS', 'IV27 4JB', 'KW17 2AB', 'ZE1 0LX'];
const STREETS = ['Quillfeather Lane', 'Marrowbone Close', 'Lapwing Wynd', 'Saltcote Row', 'Hazelrigg Mews', 'Pennyroyal Court', 'Sedgemoor Yard', 'Tansy Gardens'];
const STAFF = { clinician: 'Dr Ottavia Fairweather', silent: 'Nurse Evander Pilkington', worker: 'Rosalind Umberfield', system: 'Casework Gateway Xylo' };

let proc: ServiceProcess;
let dataDir: string;
let mint: (claims: TokenClaims) => Promise<string>;
const secrets: Secret[] = [];
const requestIds: string[] = [];
let requestCount = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-log-privacy-'));
  proc = await spawnService({
    DATA_DIR: dataDir, DATABASE_URL: await createTestDatabase(), LOG_LEVEL: 'trace',
    RATE_LIMIT_PER_SECOND: '40', UPLOAD_MAX_BYTES: '20000', JSON_MAX_BYTES: '4096', STREAM_HEARTBEAT_SECONDS: '1',
  });
  const key = await loadOrCreateDevKey(dataDir); // the key the service made at start
  mint = async (claims) => {
    const token = await mintDevToken(key, claims, { issuer: 'urn:cpis:dev', audience: 'cpis', ttlSeconds: 600 });
    secrets.push(...secretsOf('token', [token], tokenForms));
    return token;
  };
});
afterAll(async () => {
  if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

/** One HTTP request with a request id of its own, so that its log line can be found. */
async function call(pathAndQuery: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const id = `privacy-${++requestCount}`;
  requestIds.push(id);
  const headers = new Headers(init.headers);
  headers.set('x-request-id', id);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  return fetch(`${proc.url}${pathAndQuery}`, { ...init, headers });
}
const jsonInit = (method: string, body: unknown, token?: string): RequestInit & { token?: string } => ({
  method, token, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A child whose every identifying value is distinctive, and remembered as a secret. */
function child(i: number, overrides: RecordInput = {}): RecordInput {
  const record = childRecord({
    familyName: FAMILY[i % FAMILY.length], givenNames: GIVEN[i % GIVEN.length], birthDate: yearsAgo(3 + (i % 12), 17 * i + 3),
    postcode: POSTCODES[i % POSTCODES.length], addressLines: [`${12 + i} ${STREETS[i % STREETS.length]}`, 'Lerwick'], ...overrides,
  });
  remember(record);
  return record;
}

function remember(record: RecordInput) {
  const text = (k: string) => (typeof record[k] === 'string' ? [record[k] as string] : []);
  secrets.push(
    ...secretsOf('NHS number', text('nhsNumber').map((n) => n.replace(/\D/g, '')), nhsNumberForms),
    ...secretsOf('family name', text('familyName')),
    ...secretsOf('given name', text('givenNames').flatMap((g) => g.split(' '))),
    ...secretsOf('birth date', text('birthDate'), dateForms),
    ...secretsOf('postcode', text('postcode'), postcodeForms),
    ...secretsOf('address', Array.isArray(record.addressLines) ? (record.addressLines as string[]).filter((l) => l !== 'Lerwick') : []),
  );
}

const rememberNhs = (...numbers: string[]) => secrets.push(...secretsOf('NHS number', numbers, nhsNumberForms));
const csvOf = (records: RecordInput[]) =>
  ['nhsNumber,familyName,givenNames,birthDate,postcode,addressLines,planType,startDate']
    .concat(records.map((r) => [r.nhsNumber, r.familyName, r.givenNames, r.birthDate, r.postcode, (r.addressLines as string[]).join('|'), r.planType, r.startDate].join(',')))
    .join('\r\n');

const expectStatus = async (res: Promise<Response>, status: number) => expect((await res).status).toBe(status);

/** The callers of the workload, and the children it publishes. */
async function cast() {
  secrets.push(...secretsOf('staff name', Object.values(STAFF).flatMap((n) => n.split(' ').filter((w) => w.length > 3))));
  const [la, otherLa] = [syntheticLaCode(), syntheticLaCode()];
  const badChecksum = badChecksumNhsNumber();
  rememberNhs(badChecksum);
  const kids = [0, 1, 2, 3].map((i) => child(i));
  return {
    la, kids, badChecksum, spaced: nhsNumberForms(kids[2]?.nhsNumber as string)[1] as string,
    system: await mint({ sub: 'privacy-system', role: 'la-system', org: la, org_name: 'Privacy Council', name: STAFF.system }),
    worker: await mint({ sub: 'privacy-worker', role: 'social-worker', org: la, org_name: 'Privacy Council', name: STAFF.worker }),
    otherSystem: await mint({ sub: 'privacy-other', role: 'la-system', org: otherLa, name: STAFF.system }),
    clinician: await mint({ sub: 'privacy-dr', role: 'clinician', org: 'RXX01', org_name: 'Example ED', setting: 'emergency-department', activities: ['B0107'], name: STAFF.clinician }),
    silentReader: await mint({ sub: 'privacy-gp', role: 'clinician', org: 'GPX01', setting: 'gp', activities: ['B0170'], name: STAFF.silent }),
    ops: await mint({ sub: 'privacy-ops', role: 'ops', org: 'OPS01', name: 'Operator' }),
  };
}
type Cast = Awaited<ReturnType<typeof cast>>;

/** An update, a refused one (carrying a child's NHS number in a field), an oversized one. */
async function organisationUpdates({ system }: Cast) {
  const phones = ['0113 496 0377', '0113 496 0912'];
  secrets.push(...secretsOf('phone', phones, phoneForms));
  await expectStatus(call('/la/v1/organisation', jsonInit('PUT', { name: 'Privacy Council', officeHoursPhone: phones[0], edtPhone: phones[1] }, system)), 200);
  const stray = syntheticNhsNumber();
  rememberNhs(stray);
  await expectStatus(call('/la/v1/organisation', jsonInit('PUT', { name: FAMILY[0], edtPhone: `call ${stray}`, child: stray }, system)), 400);
  await expectStatus(call('/la/v1/organisation', jsonInit('PUT', { name: `${FAMILY[1]} `.repeat(1000), officeHoursPhone: phones[0], edtPhone: phones[1] }, system)), 413);
}

/** JSON with refused records, NDJSON with a broken line, CSV with a bad row, CPF01, a replay, 409, 415 and 413. */
async function uploads({ system, kids, badChecksum, spaced }: Cast) {
  const post = (body: string, headers: Record<string, string>) => call('/la/v1/uploads', { method: 'POST', token: system, headers, body });
  const refused = [child(4, { nhsNumber: badChecksum }), child(5, { birthDate: yearsAgo(-1) }), child(6, { planType: 'LAC' }), { ...child(7), favouriteColour: FAMILY[7] }];
  const first = await call('/la/v1/uploads', jsonInit('POST', { sequenceNumber: 1, records: [...kids.slice(0, 2), ...refused] }, system));
  expect(first.status).toBe(201);
  expect(((await first.json()) as { result: string }).result).toBe('CPF03');
  const ndjson = [JSON.stringify({ ...kids[2], nhsNumber: spaced }), `{"nhsNumber":"${badChecksum}","familyName":"${FAMILY[4]}"`, JSON.stringify(child(8))].join('\n');
  await expectStatus(post(ndjson, { 'content-type': 'application/x-ndjson', 'x-sequence-number': '2' }), 201);
  const csv = `\uFEFF${csvOf([kids[3] as RecordInput, child(9, { birthDate: '2011-02-30' })])}\r\n`;
  await expectStatus(post(csv, { 'content-type': 'text/csv', 'x-sequence-number': '3' }), 201);
  await expectStatus(post(`{"sequenceNumber":4,"records":[${JSON.stringify(child(10))},{"nhsNumber":"${kids[0]?.nhsNumber}"`, { 'content-type': 'application/json' }), 400);
  await expectStatus(post(csv, { 'content-type': 'text/csv', 'x-sequence-number': '3' }), 200);
  await expectStatus(call('/la/v1/uploads', jsonInit('POST', { sequenceNumber: 1, records: [kids[0]] }, system)), 409);
  await expectStatus(post(`<nhs>${kids[0]?.nhsNumber}</nhs>`, { 'content-type': 'application/xml' }), 415);
  const big = Array.from({ length: 120 }, (_, i) => JSON.stringify(child(11 + i))).join('\n');
  // The service may answer 413 before the client has sent the whole body; the client then sees a reset.
  const tooLarge = await post(big, { 'content-type': 'application/x-ndjson', 'x-sequence-number': '5' }).catch(() => undefined);
  if (tooLarge) expect(tooLarge.status).toBe(413);
  await expectStatus(call('/la/v1/plans?limit=10', { token: system }), 200);
}

/** A bearer stream and a ticket stream, opened before the lookups; and upgrades that must be refused. */
async function openStreams({ worker, system, kids }: Cast) {
  const target = { url: proc.url } as TestService;
  const live = await openStream(target, { token: worker, after: 0 });
  const { ticket } = (await (await call('/la/v1/notifications/stream-tickets', { method: 'POST', token: worker })).json()) as { ticket: string };
  secrets.push(...secretsOf('ticket', [ticket], opaqueForms));
  const byTicket = await openStream(target, { ticket, after: 0 });
  await expectRefused(`ticket=${encodeURIComponent(ticket)}`, {}, 401); // used once already
  await expectRefused('', { authorization: `Bearer ${system.slice(0, -4)}AAAA` }, 401);
  await expectRefused(`after=${kids[0]?.nhsNumber}x`, { authorization: `Bearer ${worker}` }, 400);
  return { live, byTicket };
}

/** Care settings: found, silent, not found, invalid, forbidden, a bad header, no or bad token, unknown paths. */
async function searches({ clinician, silentReader, system, kids, badChecksum, spaced }: Cast) {
  const search = (type: string, query: string, token?: string, headers: Record<string, string> = {}) => call(`/cpis/FHIR/R4/${type}?${query}`, { token, headers });
  const byId = (nhs: unknown) => `patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${String(nhs)}`)}`;
  const nobody = syntheticNhsNumber();
  rememberNhs(nobody);
  const [k0, k1, k3] = [kids[0]?.nhsNumber, kids[1]?.nhsNumber as string, kids[3]?.nhsNumber];
  await expectStatus(search('CareTeam', byId(k0), clinician), 200);
  await expectStatus(search('Flag', `patient=${encodeURIComponent(spaced)}`, clinician), 200);
  await expectStatus(search('CareTeam', `patient=Patient/${k3}`, clinician, { IsUnscheduledAccessEvent: 'true' }), 200);
  await expectStatus(search('AuditEvent', byId(k0), clinician), 200);
  await expectStatus(search('CareTeam', byId(k1), silentReader, { IsUnscheduledAccessEvent: 'false' }), 200);
  await expectStatus(search('CareTeam', byId(nobody), clinician), 200);
  await expectStatus(search('CareTeam', byId(badChecksum), clinician), 400);
  await expectStatus(search('Flag', `patient=${nhsNumberForms(badChecksum)[2]}`, clinician), 400);
  await expectStatus(search('CareTeam', `patient:identifier=${encodeURIComponent(`https://example.org/other|${k0}`)}`, clinician), 400);
  await expectStatus(search('CareTeam', byId(k1), silentReader), 403);
  await expectStatus(search('CareTeam', byId(k1), system), 403);
  await expectStatus(search('CareTeam', byId(k1), clinician, { IsUnscheduledAccessEvent: k1 }), 400);
  await expectStatus(search('CareTeam', byId(k1)), 401);
  await expectStatus(search('CareTeam', byId(k1), `${clinician.slice(0, -6)}AAAAAA`), 401);
  await expectStatus(search('CareTeam', byId(k1), 'not-a-token'), 401);
  await expectStatus(call(`/cpis/FHIR/R4/Patient/${k0}`, { token: clinician }), 404);
  await expectStatus(call(`/la/v1/children/${encodeURIComponent(FAMILY[0] as string)}/${kids[0]?.birthDate}`, { token: system }), 404);
}

/** Alerts arrive; the worker acknowledges by frame, sends malformed frames, reads and acknowledges the mailbox. */
async function alertsAndMailbox({ system, worker, otherSystem, kids }: Cast, { live, byTicket }: Awaited<ReturnType<typeof openStreams>>) {
  await live.waitFor((f) => f.filter((x) => x.type === 'notification').length >= 3);
  await byTicket.waitFor((f) => f.filter((x) => x.type === 'notification').length >= 3);
  live.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
  live.ws.send(`{"type":"ack","eventNumber":"${kids[0]?.nhsNumber}","name":"${FAMILY[0]}"}`);
  live.ws.send(`not json ${kids[1]?.nhsNumber} ${FAMILY[1]}`);
  await live.waitFor((f) => f.some((x) => x.type === 'acknowledged') && f.filter((x) => x.type === 'error').length === 2);
  await expectStatus(call('/la/v1/notifications?after=0&limit=10', { token: worker }), 200);
  await expectStatus(call('/la/v1/notifications?after=0', { token: otherSystem }), 200);
  await expectStatus(call('/la/v1/notifications/ack', jsonInit('POST', { upTo: 2 }, system)), 200);
  await expectStatus(call('/la/v1/notifications/ack', jsonInit('POST', { eventNumbers: [3] }, worker)), 200);
  await expectStatus(call('/la/v1/notifications/ack', jsonInit('POST', { eventNumbers: [kids[0]?.nhsNumber], nhsNumber: kids[0]?.nhsNumber }, worker)), 400);
  await expectStatus(call(`/la/v1/notifications?after=${kids[0]?.nhsNumber}-${FAMILY[0]}`, { token: worker }), 400);
  for (const client of [live, byTicket]) client.ws.close();
  await Promise.all([live.closed, byTicket.closed]);
}

/** Operations, the console, a demo sign-in (its token is a secret too), 403s and a burst into 429. */
async function operationsAndRefusals({ la, ops, worker, clinician, otherSystem, kids }: Cast) {
  for (const [path, token] of [['/metrics'], ['/metrics', ops], ['/health/live'], ['/health/ready'], ['/console/'], ['/console/app.js'], ['/console/session']]) {
    await expectStatus(call(path as string, { token }), 200);
  }
  const signIn = await call('/console/dev-sign-in', jsonInit('POST', { org: la, name: STAFF.worker }));
  expect(signIn.status).toBe(201);
  secrets.push(...secretsOf('token', [((await signIn.json()) as { token: string }).token], tokenForms));
  await expectStatus(call('/la/v1/uploads', jsonInit('POST', { sequenceNumber: 9, records: [kids[0]] }, worker)), 403);
  await expectStatus(call('/la/v1/plans', { token: clinician }), 403);
  const burst = await Promise.all(Array.from({ length: 60 }, () => call('/la/v1/organisation', { token: otherSystem })));
  expect(burst.map((r) => r.status)).toContain(429);
}

describe('privacy of the logs under a full workload', () => {
  it('logs one pino JSON line per request and no NHS number, name, birth date, postcode, phone, token or ticket', { timeout: 120_000 }, async () => {
    const people = await cast();
    await organisationUpdates(people);
    await uploads(people);
    const streams = await openStreams(people);
    await searches(people);
    await alertsAndMailbox(people, streams);
    await operationsAndRefusals(people);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });

    const lines = proc.output;
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    });
    expect(lines.filter((_, i) => !parsed[i]).length, 'lines that are not JSON').toBe(0);
    for (const entry of parsed) expect(entry).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    const perRequest = parsed.flatMap((e) => (e?.req ? [(e.req as { id: string }).id] : []));
    expect(perRequest.sort(), 'one request line per request').toEqual([...requestIds].sort());

    expect(secrets.length).toBeGreaterThan(100);
    expect(findLeaks(lines, secrets).map(describeLeak)).toEqual([]);
  });
});

/** An upgrade the service must refuse with the given status. */
async function expectRefused(query: string, headers: Record<string, string>, status: number) {
  const ws = new WebSocket(`${proc.url.replace('http', 'ws')}/la/v1/notifications/stream${query ? `?${query}` : ''}`, { headers });
  const got = await new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? -1));
    ws.once('open', () => resolve(101));
    ws.once('error', () => resolve(-1));
  });
  ws.terminate();
  expect(got).toBe(status);
}
