import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Clock } from '../../src/ports.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { loadOrCreateDevKey, mintDevToken, type TokenClaims } from '../../adapters/auth/dev-keys.ts';
import { checkedFetch, contractChecker, frameChecker } from './contract.ts';

/** A database of its own for one test file, on the run's PostgreSQL. */
export async function createTestDatabase(): Promise<string> {
  const admin = new URL(inject('adminDatabaseUrl'));
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  admin.pathname = `/${name}`;
  return admin.toString();
}

/** A fetch Response whose JSON body tests may read without casting at every step. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are asserted on, not trusted
export type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export type TestService = RunningService & {
  dataDir: string;
  databaseUrl: string;
  logs: string[];
  token(claims: Partial<TokenClaims> & { role: string; org: string }, ttlSeconds?: number): Promise<string>;
  fetch(pathAndQuery: string, init?: RequestInit & { token?: string }): Promise<JsonResponse>;
};

/** Boots the real service on port 0 against its own database, capturing every log line. */
export async function startTestService(
  options: { env?: Record<string, string>; clock?: Clock; databaseUrl?: string; dataDir?: string } = {},
): Promise<TestService> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'cpis-test-')));
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
  // Idle connections outlive the test's fetch client's (which closes them a little before the server's
  // timeout): on a loaded machine the client could otherwise send on a connection the server had just
  // closed, and see ECONNRESET. Tests of the timeout itself set their own. The escalation job runs when a
  // test calls it (composition.escalateAlerts) or sets an interval: on a timer it would add escalations
  // to the mailbox of any test that moves the clock hours on.
  const config = loadConfig({
    DATA_DIR: dataDir, DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'test', KEEP_ALIVE_TIMEOUT_SECONDS: '60',
    ESCALATION_INTERVAL_SECONDS: '0', ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  // Compiled now, not at a test's first request: some tests count what fits in a second.
  contractChecker();
  frameChecker();
  const service = await startService(config, { logger, clock: options.clock });
  const key = await loadOrCreateDevKey(dataDir);
  const token: TestService['token'] = (claims, ttlSeconds = 600) =>
    mintDevToken(key, { sub: `${claims.role}-user`, ...claims }, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds });
  return {
    ...service,
    dataDir,
    databaseUrl,
    logs,
    token,
    fetch: (pathAndQuery, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      // Every answer from /la/v1 and /health is checked against the OpenAPI document (test/support/contract.ts).
      return checkedFetch(service.url, pathAndQuery, { ...init, headers });
    },
  };
}

/** A token for an LA's identity, and nothing more: the LA is not set up (no phones, so it cannot publish). */
export async function bareLaToken(service: TestService, org: string, role = 'la-system'): Promise<string> {
  return service.token({ role, org, org_name: `${org} Council`, name: 'Test LA system' });
}

/** Valid UK numbers (Ofcom drama range) an LA set up by `laToken` has until a test PUTs its own. */
export const TEST_LA_PHONES = { officeHoursPhone: '0113 496 0500', edtPhone: '0113 496 0599' } as const;

/**
 * An LA system's token for a fresh LA. For `la-system`, the LA is also set up as an LA must be before
 * it may publish: PUT /la/v1/organisation with its name and both phones (TEST_LA_PHONES).
 */
export async function laToken(service: TestService, org: string, role = 'la-system'): Promise<string> {
  const token = await bareLaToken(service, org, role);
  if (role === 'la-system') await setUpTestLa(service.url, token, `${org} Council`);
  return token;
}

/** Sets up, through the service at `baseUrl`, the LA of an `la-system` token with its name and TEST_LA_PHONES. */
export async function setUpTestLa(baseUrl: string, token: string, name: string): Promise<void> {
  const res = await checkedFetch(baseUrl, '/la/v1/organisation', {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, ...TEST_LA_PHONES }),
  });
  if (res.status !== 200) throw new Error(`setting up LA ${name} (PUT /la/v1/organisation) answered ${res.status}: ${await res.text()}`);
}

/** POSTs a JSON batch. */
export function uploadJson(service: TestService, token: string, sequenceNumber: number, records: unknown[]): Promise<JsonResponse> {
  return service.fetch('/la/v1/uploads', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sequenceNumber, records }),
  });
}
