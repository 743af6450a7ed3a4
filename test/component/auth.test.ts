import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { syntheticLaCode } from '../support/synthetic.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { loadOrCreateDevKey } from '../../adapters/auth/dev-keys.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const ISSUER = 'urn:cpis:dev';
const AUDIENCE = 'cpis';

async function expectUnauthorised(token: string) {
  const res = await service.fetch('/la/v1/organisation', { token });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  const outcome = await res.json();
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue[0].details.coding[0].code).toBe('ACCESS_DENIED');
  return outcome.issue[0].diagnostics as string;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token of the service's own dev key with exactly the times given (an iat only if given). */
async function signDev(times: { exp: number; iat?: number }): Promise<string> {
  const key = await loadOrCreateDevKey(service.dataDir);
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  return new SignJWT({ role: 'la-system', org: syntheticLaCode(), ...times })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid }).setSubject('lifetime-test').setIssuer(ISSUER).setAudience(AUDIENCE).sign(privateKey);
}

describe('token verification (dev mode)', () => {
  it('accepts a token minted for the service', async () => {
    const token = await service.token({ role: 'la-system', org: syntheticLaCode() });
    expect((await service.fetch('/la/v1/organisation', { token })).status).toBe(200);
  });

  it('refuses no token, garbage and a non-Bearer scheme', async () => {
    expect((await service.fetch('/la/v1/organisation')).status).toBe(401);
    await expectUnauthorised('not-a-token');
    const res = await service.fetch('/la/v1/organisation', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
  });

  it('refuses alg none', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', kid: key.kid })}.${b64({ sub: 'x', role: 'la-system', org: 'LA1', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 60 })}.`;
    await expectUnauthorised(token);
  });

  it('refuses HMAC signed with the public key', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const token = await new SignJWT({ role: 'la-system', org: 'LA1' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(secret);
    expect(await expectUnauthorised(token)).toMatch(/algorithm|not allowed|verified/);
  });

  it('refuses edited claims', async () => {
    const token = await service.token({ role: 'social-worker', org: 'LA1' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${b64({ ...claims, role: 'la-system' })}.${signature}`;
    expect(await expectUnauthorised(forged)).toMatch(/signature/);
  });

  it('refuses a foreign key claiming the known kid, and an unknown kid', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const foreign = await generateKeyPair('ES256');
    const sign = (kid: string) =>
      new SignJWT({ role: 'la-system', org: 'LA1' })
        .setProtectedHeader({ alg: 'ES256', kid }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(foreign.privateKey);
    expect(await expectUnauthorised(await sign(key.kid))).toMatch(/signature/);
    expect(await expectUnauthorised(await sign('some-other-kid'))).toMatch(/kid/);
  });

  it('refuses expired tokens and tokens not yet valid beyond the skew, and accepts within it', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const { importJWK } = await import('jose');
    const privateKey = await importJWK(key.privateJwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (times: { exp: number; nbf?: number }) =>
      new SignJWT({ role: 'la-system', org: 'LA1', iat: now - 600, ...times })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).sign(privateKey);
    expect(await expectUnauthorised(await sign({ exp: now - 120 }))).toMatch(/expired/);
    expect(await expectUnauthorised(await sign({ exp: now + 600, nbf: now + 300 }))).toMatch(/nbf/);
    const withinSkew = await sign({ exp: now - 5, nbf: now + 5 });
    expect((await service.fetch('/la/v1/organisation', { token: withinSkew })).status).toBe(200);
  });

  it('refuses a token that does not say when it was issued (no iat)', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await expectUnauthorised(await signDev({ exp: now + 300 }))).toBe('token has no iat claim');
  });

  it('refuses a token whose exp − iat is over AUTH_MAX_TOKEN_LIFETIME_SECONDS (12 hours by default), however far off its exp, and accepts one of exactly 12 hours', async () => {
    const now = Math.floor(Date.now() / 1000);
    const TWELVE_HOURS = 12 * 3600;
    for (const lifetime of [TWELVE_HOURS + 1, 10 * 365 * 86_400]) {
      expect(await expectUnauthorised(await signDev({ iat: now, exp: now + lifetime }))).toMatch(/^token lifetime \(exp - iat\) is longer than the 43200 s allowed$/);
    }
    // Issued long ago with a long life: still refused, though not expired.
    expect(await expectUnauthorised(await signDev({ iat: now - 2 * TWELVE_HOURS, exp: now + 600 }))).toMatch(/lifetime/);
    expect((await service.fetch('/la/v1/organisation', { token: await signDev({ iat: now, exp: now + TWELVE_HOURS }) })).status).toBe(200);
  });

  it('refuses an iat in the future beyond the clock skew, and accepts one within it', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await expectUnauthorised(await signDev({ iat: now + 120, exp: now + 600 }))).toBe('token claim iat is in the future');
    expect(await expectUnauthorised(await signDev({ iat: now + 10 * 365 * 86_400, exp: now + 10 * 365 * 86_400 + 60 }))).toMatch(/iat/);
    expect((await service.fetch('/la/v1/organisation', { token: await signDev({ iat: now + 10, exp: now + 600 }) })).status).toBe(200);
  });

  it('mints console sign-in and test tokens within a lower AUTH_MAX_TOKEN_LIFETIME_SECONDS, and refuses one a second longer', async () => {
    const short = await startTestService({ env: { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '600' } });
    try {
      const signIn = await short.fetch('/console/dev-sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ org: syntheticLaCode() }) });
      expect(signIn.status).toBe(201);
      const { token, expiresAt } = await signIn.json();
      expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
      expect((await short.fetch('/la/v1/notifications?after=0', { token })).status).toBe(200);
      expect((await short.fetch('/la/v1/organisation', { token: await short.token({ role: 'la-system', org: syntheticLaCode() }, 600) })).status).toBe(200);
      const res = await short.fetch('/la/v1/organisation', { token: await short.token({ role: 'la-system', org: syntheticLaCode() }, 601) });
      expect(res.status).toBe(401);
      expect((await res.json()).issue[0].diagnostics).toBe('token lifetime (exp - iat) is longer than the 600 s allowed');
    } finally {
      await short.stop();
    }
  });

  it('stops accepting a token, verified and cached before, once it expires', async () => {
    const strict = await startTestService({ env: { AUTH_CLOCK_SKEW_SECONDS: '0' } });
    try {
      // Three seconds, not one: the clock's second may tick between minting and a slow first request.
      const token = await strict.token({ role: 'la-system', org: syntheticLaCode() }, 3);
      const { exp } = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number };
      expect((await strict.fetch('/la/v1/organisation', { token })).status).toBe(200);
      expect((await strict.fetch('/la/v1/organisation', { token })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 100));
      const res = await strict.fetch('/la/v1/organisation', { token });
      expect(res.status).toBe(401);
      expect((await res.json()).issue[0].diagnostics).toMatch(/expired/);
    } finally {
      await strict.stop();
    }
  });

  it('refuses a wrong issuer or audience', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const { importJWK } = await import('jose');
    const privateKey = await importJWK(key.privateJwk, 'ES256');
    const sign = (iss: string, aud: string) =>
      new SignJWT({ role: 'la-system', org: 'LA1' })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid }).setSubject('x').setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    expect(await expectUnauthorised(await sign('urn:someone-else', AUDIENCE))).toMatch(/iss/);
    expect(await expectUnauthorised(await sign(ISSUER, 'another-api'))).toMatch(/aud/);
  });

  it('never follows jku, x5u or embedded jwk headers', async () => {
    const key = await loadOrCreateDevKey(service.dataDir);
    const { importJWK } = await import('jose');
    const privateKey = await importJWK(key.privateJwk, 'ES256');
    for (const extra of [{ jku: 'http://127.0.0.1:1/jwks' }, { x5u: 'http://127.0.0.1:1/cert' }, { jwk: key.publicJwk }]) {
      const token = await new SignJWT({ role: 'la-system', org: 'LA1' })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...extra }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(privateKey);
      expect(await expectUnauthorised(token)).toMatch(/header/);
    }
  });

  it('refuses a token without role or org, or with an unknown role', async () => {
    for (const claims of [{ org: 'LA1' }, { role: 'la-system' }, { role: 'admin', org: 'LA1' }]) {
      const token = await service.token(claims as { role: string; org: string });
      expect(await expectUnauthorised(token)).toMatch(/claims/);
    }
  });

  it('refuses text claims that PostgreSQL could not store in the audit trail (NUL, unpaired surrogate)', async () => {
    for (const claims of [{ sub: 'a\u0000b' }, { name: 'Dr \ud800' }, { org_name: 'Council\u0000' }]) {
      const token = await service.token({ role: 'la-system', org: 'LA1', ...claims });
      expect(await expectUnauthorised(token)).toMatch(/claims/);
    }
  });

  it('enforces roles per endpoint', async () => {
    for (const role of ['clinician', 'social-worker', 'ops']) {
      const token = await service.token({ role, org: syntheticLaCode() });
      const res = await service.fetch('/la/v1/uploads', { method: 'POST', token, body: '{}', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(403);
      expect((await res.json()).issue[0].details.coding[0].code).toBe('ACCESS_DENIED');
    }
  });
});

describe('token verification (JWKS mode)', () => {
  let jwksServer: Server;
  let keys: JWK[] = [];
  let fetches = 0;
  let jwks: TestService;

  beforeAll(async () => {
    jwksServer = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    jwks = await startTestService({
      env: { AUTH_MODE: 'jwks', AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`, AUTH_ISSUER: 'https://idp.test', AUTH_AUDIENCE: 'cpis-api', AUTH_JWKS_COOLDOWN_SECONDS: '0' },
    });
  });
  afterAll(async () => {
    await jwks?.stop();
    jwksServer?.close();
  });

  async function keyPair(kid: string) {
    const pair = await generateKeyPair('RS256');
    return { kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' } };
  }
  const sign = (k: Awaited<ReturnType<typeof keyPair>>, org: string) =>
    new SignJWT({ role: 'la-system', org })
      .setProtectedHeader({ alg: 'RS256', kid: k.kid }).setSubject('idp-user').setIssuer('https://idp.test').setAudience('cpis-api').setIssuedAt().setExpirationTime('5m').sign(k.privateKey);

  it('verifies against the JWKS and follows a key rotation', async () => {
    const first = await keyPair('k1');
    keys = [first.jwk];
    const org = syntheticLaCode();
    expect((await jwks.fetch('/la/v1/organisation', { token: await sign(first, org) })).status).toBe(200);
    const before = fetches;
    const second = await keyPair('k2');
    keys = [second.jwk];
    // The new kid is unknown to the cached set, so the service refetches the JWKS once.
    expect((await jwks.fetch('/la/v1/organisation', { token: await sign(second, org) })).status).toBe(200);
    expect(fetches).toBe(before + 1);
    // A dev-mode token of this service's own key is not trusted in JWKS mode.
    const dev = await jwks.token({ role: 'la-system', org });
    expect((await jwks.fetch('/la/v1/organisation', { token: dev })).status).toBe(401);
  });
});
