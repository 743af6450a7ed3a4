import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLocalKeysVerifier } from '../../adapters/auth/verify-token.ts';
import { AppError } from '../../src/domain/app-error.ts';
import type { TokenVerifier } from '../../src/ports.ts';

// The token times the verifier accepts (README, Identity): iat present, iat no later than now plus the
// clock skew, exp − iat within AUTH_MAX_TOKEN_LIFETIME_SECONDS, exp not past (minus the skew).

const SKEW = 30;
const MAX_LIFETIME = 600;
// The clock moves while a case runs: times this close to an edge are left out, not guessed at.
const MARGIN = 3;

let privateKey: CryptoKey;
let verifier: TokenVerifier;
beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  verifier = createLocalKeysVerifier([jwk], {
    issuer: 'urn:cpis:unit', audience: 'cpis-unit', algorithms: ['ES256'], clockSkewSeconds: SKEW, maxTokenLifetimeSeconds: MAX_LIFETIME,
  });
});

const sign = (times: { exp: number; iat?: number }, sub: string) =>
  new SignJWT({ role: 'la-system', org: 'LA001', ...times })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(sub).setIssuer('urn:cpis:unit').setAudience('cpis-unit').sign(privateKey);

/** 'accepted', or the refusal's status and diagnostics. */
async function outcomeOf(token: string): Promise<'accepted' | { status: number; diagnostics: string }> {
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { status: error.status, diagnostics: error.message };
  }
}

describe('token times', () => {
  it('accepts a token if and only if it has an iat, no later than now plus the skew, and exp − iat within the lifetime, exp not past', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.integer({ min: -3 * MAX_LIFETIME, max: 3 * SKEW + MAX_LIFETIME }), { nil: undefined }),
        fc.integer({ min: 1, max: 3 * MAX_LIFETIME }),
        async (iatOffset, lifetime) => {
          const now = Math.floor(Date.now() / 1000);
          const iat = iatOffset === undefined ? undefined : now + iatOffset;
          const exp = (iat ?? now) + lifetime;
          fc.pre(iat === undefined || Math.abs(iat - (now + SKEW)) > MARGIN);
          fc.pre(Math.abs(exp - (now - SKEW)) > MARGIN);
          const expected = iat !== undefined && iat <= now + SKEW && exp - iat <= MAX_LIFETIME && exp > now - SKEW;
          const outcome = await outcomeOf(await sign(iat === undefined ? { exp } : { iat, exp }, `times-${run++}`));
          if (expected) expect(outcome).toBe('accepted');
          else expect(outcome).toMatchObject({ status: 401 });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('says which rule refused the token, and never repeats a claim value', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await outcomeOf(await sign({ exp: now + 60 }, 'no-iat'))).toEqual({ status: 401, diagnostics: 'token has no iat claim' });
    expect(await outcomeOf(await sign({ iat: now + 3600, exp: now + 3660 }, 'future'))).toEqual({ status: 401, diagnostics: 'token claim iat is in the future' });
    expect(await outcomeOf(await sign({ iat: now, exp: now + 315_360_000 }, 'ten-years'))).toEqual({
      status: 401, diagnostics: `token lifetime (exp - iat) is longer than the ${MAX_LIFETIME} s allowed`,
    });
  });
});
