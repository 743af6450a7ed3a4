import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import nock from 'nock';
import type { Patient } from 'fhir/r4.d.ts';
import type { Clock } from '../../src/ports.ts';

// A host that does not exist: nock answers for it, and every other network call is refused.
export const PDS_ORIGIN = 'https://pds.test.example';
export const PDS_BASE_PATH = '/personal-demographics/FHIR/R4';
export const TOKEN_PATH = '/oauth2/token';
export const TOKEN_URL = `${PDS_ORIGIN}${TOKEN_PATH}`;
export const API_KEY = 'test-api-key';
export const KEY_ID = 'test-key-1';

const SANDBOX = new URL('../../adapters/pds/sandbox/', import.meta.url);
const FIXTURES = new URL('../fixtures/pds/', import.meta.url);

/** One of NHS England's published PDS responses, as the project holds them (see their NOTICE.md). */
export function pdsFixture(name: 'Patient' | 'Patient-Jayne-Smyth' | 'Sensitive_Patient' | 'Minimal_Patient'): Patient {
  return JSON.parse(readFileSync(new URL(`${name}.json`, SANDBOX), 'utf8')) as Patient;
}

/** The Patient inside the published compound-name search result ("John Paul" Smith). */
export function compoundNameFixture(): Patient {
  const bundle = JSON.parse(readFileSync(new URL('PatientCompoundName.json', FIXTURES), 'utf8')) as { entry: { resource: Patient }[] };
  return bundle.entry[0]?.resource as Patient;
}

/** A published PDS error OperationOutcome. */
export function pdsError(code: 'RESOURCE_NOT_FOUND' | 'INVALIDATED_RESOURCE' | 'INVALID_RESOURCE_ID' | 'ACCESS_DENIED'): unknown {
  return JSON.parse(readFileSync(new URL(`errors/${code}.json`, FIXTURES), 'utf8'));
}

/** Derived from a published example: the same person alive (the examples all carry a date of death). */
export function living(patient: Patient): Patient {
  const { deceasedDateTime: _dead, ...rest } = structuredClone(patient);
  return { ...rest, extension: rest.extension?.filter((e) => !e.url.endsWith('DeathNotificationStatus')) };
}

/** Derived from a published example: the same record answering under another (synthetic) NHS number. */
export function numbered(patient: Patient, nhsNumber: string): Patient {
  const copy = structuredClone(patient);
  copy.id = nhsNumber;
  copy.identifier = (copy.identifier ?? []).map((i) => ({ ...i, value: nhsNumber }));
  return copy;
}

/** An RS512 key pair made for the test run, its private half in a PEM file as PDS_PRIVATE_KEY_FILE wants it. */
export async function createPdsKeys(): Promise<{ privateKeyFile: string; publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair('RS512', { extractable: true });
  const dir = await mkdtemp(path.join(tmpdir(), 'cpis-pds-key-'));
  const privateKeyFile = path.join(dir, 'pds-private-key.pem');
  await writeFile(privateKeyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  return { privateKeyFile, publicKey };
}

/** The environment of a service calling "live" PDS at the nock host; quick timeouts, no background job. */
export function pdsEnv(privateKeyFile: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PDS_MODE: 'live',
    PDS_BASE_URL: `${PDS_ORIGIN}${PDS_BASE_PATH}`,
    PDS_TOKEN_URL: TOKEN_URL,
    PDS_API_KEY: API_KEY,
    PDS_PRIVATE_KEY_FILE: privateKeyFile,
    PDS_KEY_ID: KEY_ID,
    PDS_TIMEOUT_MS: '300',
    PDS_MAX_RETRIES: '2',
    PDS_BACKOFF_MS: '20',
    PDS_RATE_LIMIT_PER_SECOND: '1000',
    PDS_RECHECK_POLL_SECONDS: '0',
    ...overrides,
  };
}

/** Refuses every connection but loopback (the service and PostgreSQL); undo with allowNetwork(). */
export function denyNetwork(): void {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
}

export function allowNetwork(): void {
  nock.cleanAll();
  nock.enableNetConnect();
}

export type TokenEndpoint = { requests: number; problems: string[]; scope: nock.Scope };

/**
 * NHS England's token endpoint, persisting: it checks each client assertion (RS512 with our kid,
 * iss = sub = API key, aud = token URL, a jti, at most 5 minutes long) and hands out token-1, token-2, …
 */
export function mockTokenEndpoint(publicKey: CryptoKey, clock: Clock, expiresIn = '599'): TokenEndpoint {
  const endpoint: TokenEndpoint = { requests: 0, problems: [], scope: nock(PDS_ORIGIN) };
  endpoint.scope
    .post(TOKEN_PATH)
    // nock 15 hands a reply function the fetch Request itself.
    .reply(async (request: Request) => {
      endpoint.requests++;
      const form = new URLSearchParams(await request.text());
      if (form.get('grant_type') !== 'client_credentials') endpoint.problems.push('grant_type');
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') endpoint.problems.push('client_assertion_type');
      const assertion = form.get('client_assertion') ?? '';
      try {
        const { payload } = await jwtVerify(assertion, publicKey, {
          algorithms: ['RS512'], issuer: API_KEY, subject: API_KEY, audience: TOKEN_URL, currentDate: clock.now(),
        });
        if (decodeProtectedHeader(assertion).kid !== KEY_ID) endpoint.problems.push('kid');
        if (typeof payload.jti !== 'string' || !payload.jti) endpoint.problems.push('jti');
        if (!payload.exp || !payload.iat || payload.exp - payload.iat > 300) endpoint.problems.push('exp');
      } catch (error) {
        endpoint.problems.push(`assertion: ${(error as Error).message}`);
      }
      return [200, { access_token: `token-${endpoint.requests}`, expires_in: expiresIn, token_type: 'Bearer', issued_at: String(clock.now().getTime()) }];
    })
    .persist();
  return endpoint;
}

/** The Patient read for one NHS number, answered once; asserts PDS's required headers were sent. */
export function pdsRead(nhsNumber: string, token = /^Bearer token-\d+$/): nock.Interceptor {
  return nock(PDS_ORIGIN, { reqheaders: { authorization: token, 'x-request-id': /^[0-9a-f-]{36}$/ } }).get(`${PDS_BASE_PATH}/Patient/${nhsNumber}`);
}

/** A clock at a fixed day, so that the published examples' child (born 2010-10-22) is under 18. */
export const PDS_TEST_DAY = new Date('2026-11-21T10:00:00Z');
