import fc from 'fast-check';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { TEST_LA_PHONES } from '../support/service.ts';
import { tableDigests } from '../support/table-digest.ts';
import { loadOrCreateDevKey } from '../../adapters/auth/dev-keys.ts';
import { loadConfig } from '../../src/config.ts';

/**
 * Caller text that must never come back: shaped like what an LA system could put in a key or a
 * header cell by mistake (a child's NHS number, name and birth date).
 */
const MARKERS = ['9990001236', 'Zebedee Quarmby', 'Quarmby 2016-05-01', 'LS99 9ZZ'];
const markerArb = fc.constantFrom(...MARKERS);

let service: TestService;
let db: pg.Pool;
let la: string;
let token: string;
let worker: string;
// The LA's last accepted batch: the requests below must not move it.
const LAST = 5;

beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '1000' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
  la = syntheticLaCode();
  token = await laToken(service, la);
  worker = await service.token({ role: 'social-worker', org: la, org_name: `${la} Council`, name: 'Duty worker' });
  const res = await uploadJson(service, token, LAST, [childRecord(), childRecord({ planType: 'LAC', lacLegalStatus: 'S20' })]);
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

type TokenTimes = { exp: number; iat?: number };
type Hostile = {
  name: string; path: string; method: string; headers: Record<string, string>; body: string | Buffer; status: number;
  /** A token of the LA's own system that must be refused for its times alone. */
  times?: TokenTimes;
};

/** Signs a token for the LA with the service's own key, with exactly the times given. */
async function tokenWith(times: TokenTimes): Promise<string> {
  const key = await loadOrCreateDevKey(service.dataDir);
  const { issuer, audience } = loadConfig({}).auth;
  return new SignJWT({ role: 'la-system', org: la, org_name: `${la} Council`, name: 'Test LA system', ...times })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid }).setSubject('la-system-user').setIssuer(issuer).setAudience(audience)
    .sign(await importJWK(key.privateJwk, 'ES256'));
}
const HOUR = 3600;
/** Relative to now: over AUTH_MAX_TOKEN_LIFETIME_SECONDS (12 h), ten years long, issued in the future, no iat. */
const BAD_TIMES: ((now: number) => TokenTimes)[] = [
  (now) => ({ iat: now, exp: now + 13 * HOUR }),
  (now) => ({ iat: now - 60, exp: now + 10 * 365 * 24 * HOUR }),
  (now) => ({ iat: now + HOUR, exp: now + 2 * HOUR }),
  (now) => ({ exp: now + 600 }),
];

const record = () => JSON.stringify(childRecord());
const json = { 'content-type': 'application/json' };

/** Puts bytes that are not UTF-8 inside the first string value of a body. */
function corrupt(text: string, bad: number[]): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const at = bytes.indexOf('Testchild');
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
}

const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe9]];
const BAD_SEQUENCES = ['0', '-1', '9007199254740992', '99999999999999999999', '1.5', '1e3', 'five', String(LAST - 1)];

/** Every refusal issue 12 names, each with text the answer must not repeat. */
const hostileArb: fc.Arbitrary<Hostile> = fc.oneof(
  fc.tuple(fc.constantFrom('sequenceNumber', 'records'), fc.integer({ min: 0, max: 3 })).map(([key, n]): Hostile => ({
    name: `envelope repeats ${key}`, path: '/la/v1/uploads', method: 'POST', headers: json, status: 400,
    body: key === 'sequenceNumber'
      ? `{"sequenceNumber":${LAST + 10},"records":[${Array.from({ length: n + 1 }, record).join(',')}],"sequenceNumber":${LAST + 1}}`
      : `{"sequenceNumber":${LAST + 1},"records":[${record()}],"records":[${Array.from({ length: n }, record).join(',')}]}`,
  })),
  fc.tuple(fc.constantFrom(...BAD_UTF8), fc.constantFrom('json', 'ndjson', 'csv')).map(([bad, form]): Hostile => {
    const r = childRecord();
    const csv = `nhsNumber,familyName,givenNames,birthDate,planType,startDate\n${r.nhsNumber},Testchild,${r.givenNames},${r.birthDate},${r.planType},${r.startDate}\n`;
    const [type, text] =
      form === 'json' ? ['application/json', `{"sequenceNumber":${LAST + 1},"records":[${JSON.stringify(r)}]}`]
      : form === 'ndjson' ? ['application/x-ndjson', `${JSON.stringify(r)}\n`]
      : ['text/csv', csv];
    return { name: `${form} with bytes that are not UTF-8`, path: '/la/v1/uploads', method: 'POST', headers: { 'content-type': type, 'x-sequence-number': String(LAST + 1) }, body: corrupt(text, bad), status: 400 };
  }),
  fc.tuple(fc.constantFrom(...BAD_SEQUENCES), fc.boolean()).map(([n, inHeader]): Hostile => ({
    name: `sequence number ${n}`, path: '/la/v1/uploads', method: 'POST',
    headers: inHeader ? { 'content-type': 'application/x-ndjson', 'x-sequence-number': n } : json,
    body: inHeader ? `${record()}\n` : `{"sequenceNumber":${/^-?\d+(\.\d+)?(e\d+)?$/.test(n) ? n : JSON.stringify(n)},"records":[${record()}]}`,
    status: n === String(LAST - 1) ? 409 : 400,
  })),
  markerArb.map((m): Hostile => ({
    name: 'unknown envelope key', path: '/la/v1/uploads', method: 'POST', headers: json, status: 400,
    body: `{"sequenceNumber":${LAST + 1},${JSON.stringify(m)}:1,"records":[${record()}]}`,
  })),
  markerArb.map((m): Hostile => ({
    name: 'CSV without its header row', path: '/la/v1/uploads', method: 'POST', headers: { 'content-type': 'text/csv', 'x-sequence-number': String(LAST + 1) }, status: 400,
    body: `${m},Testchild,Sam,2016-05-01,CPP,2025-01-01\n9990000018,Other,Alex,2016-05-01,CPP,2025-01-01\n`,
  })),
  markerArb.map((m): Hostile => ({
    name: 'organisation with an unknown key', path: '/la/v1/organisation', method: 'PUT', headers: json, status: 400,
    body: JSON.stringify({ name: 'Renamed Council', ...TEST_LA_PHONES, [m]: 'x' }),
  })),
  fc.constantFrom(...BAD_TIMES).map((times): Hostile => ({
    // A batch that would load with a good token: the token's times alone must refuse it.
    name: 'token with a lifetime or iat the service refuses', path: '/la/v1/uploads', method: 'POST', headers: json, status: 401,
    body: `{"sequenceNumber":${LAST + 1},"records":[${record()}]}`, times: times(Math.floor(Date.now() / 1000)),
  })),
  fc.tuple(markerArb, fc.constantFrom('/la/v1/organisation', '/la/v1/notifications/ack'), fc.constantFrom('text/plain', 'application/fhir+json', 'application/x-www-form-urlencoded'))
    .map(([m, path, type]): Hostile => ({
      // A body that would be taken as JSON: only its Content-Type is wrong.
      name: `${path} in ${type}`, path, method: path.endsWith('/ack') ? 'POST' : 'PUT', headers: { 'content-type': type }, status: 415,
      body: path.endsWith('/ack') ? JSON.stringify({ upTo: 10, note: m }) : JSON.stringify({ name: m, ...TEST_LA_PHONES }),
    })),
  markerArb.map((m): Hostile => ({
    name: 'acknowledgement with an unknown key', path: '/la/v1/notifications/ack', method: 'POST', headers: json, status: 400,
    body: JSON.stringify({ upTo: 10, [m]: true }),
  })),
);

describe('a refused request', () => {
  it('leaves every table as it was, and its answer and the logs repeat none of its text', async () => {
    await fc.assert(
      fc.asyncProperty(hostileArb, async (h) => {
        const before = await tableDigests(db);
        const mark = service.logs.length;
        const caller = h.times ? await tokenWith(h.times) : h.path.includes('/notifications/') ? worker : token;
        const res = await service.fetch(h.path, { method: h.method, token: caller, headers: h.headers, body: h.body });
        const text = await res.text();
        expect(res.status, `${h.name}: ${text.slice(0, 300)}`).toBe(h.status);
        expect(JSON.parse(text).resourceType).toBe('OperationOutcome');
        expect(await tableDigests(db), h.name).toEqual(before);
        const logged = service.logs.slice(mark).join('\n');
        expect(logged, h.name).not.toContain(caller.split('.')[2]);
        for (const m of MARKERS) {
          expect(text, h.name).not.toContain(m);
          expect(logged, h.name).not.toContain(m);
        }
      }),
      { numRuns: 80 },
    );
    // Still the LA's last batch: none of them used a sequence number.
    expect((await uploadJson(service, token, LAST, [])).status).toBe(200);
  });
});
