import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { unauthorised } from '../../src/domain/app-error.ts';
import type { Identity, Role } from '../../src/domain/identity.ts';
import type { TokenVerifier } from '../../src/ports.ts';
import { createAjv, compileSchema, fieldOf } from '../../src/schemas.ts';

export type VerifyOptions = {
  issuer: string; audience: string; algorithms: readonly string[]; clockSkewSeconds: number;
  /** Longest exp − iat accepted (AUTH_MAX_TOKEN_LIFETIME_SECONDS). */
  maxTokenLifetimeSeconds: number;
};
type GetKey = Parameters<typeof jwtVerify>[1];

const MAX_TOKEN_LENGTH = 8192;
// Headers that point at keys elsewhere are never followed: the key set is ours, not the caller's.
const FOREIGN_KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const validateClaims = compileSchema<JWTPayload>(createAjv(), 'token-claims.schema.json');

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return error.reason === 'missing' ? `token has no ${error.claim} claim` : `token claim ${error.claim} is not acceptable`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token kid is not in the key set';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) return 'token could not be verified';
  return 'token could not be verified';
}

function toIdentity(claims: JWTPayload): Identity {
  const c = claims as Record<string, unknown>;
  return {
    sub: String(c.sub),
    name: typeof c.name === 'string' ? c.name : String(c.sub),
    role: c.role as Role,
    org: String(c.org).toUpperCase(),
    orgName: typeof c.org_name === 'string' ? c.org_name : String(c.org),
    setting: typeof c.setting === 'string' ? c.setting : undefined,
    activities: Object.freeze(Array.isArray(c.activities) ? (c.activities as string[]) : []),
    ...(Array.isArray(c.teams) ? { teams: Object.freeze([...(c.teams as string[])]) } : {}),
    ...(typeof c.sds_user_id === 'string' ? { sdsUserId: c.sds_user_id } : {}),
    ...(typeof c.sds_role_profile_id === 'string' ? { sdsRoleProfileId: c.sds_role_profile_id } : {}),
    // CIS2 writes a job role as S…:G…:R…; the R code alone names it.
    ...(typeof c.job_role_code === 'string'
      ? { jobRole: Object.freeze({ code: c.job_role_code.split(':').at(-1) as string, name: typeof c.job_role_name === 'string' ? c.job_role_name : undefined }) }
      : {}),
  };
}

const CACHE_LIMIT = 10_000;

/**
 * Remembers tokens already verified until they expire: a care system sends the same token with
 * every lookup, and an ECDSA or RSA verification per request would cost more than the lookup.
 */
function withCache(inner: TokenVerifier): TokenVerifier {
  const cache = new Map<string, { identity: Identity; expiresAtMs: number }>();
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit && hit.expiresAtMs > Date.now()) return hit.identity;
      if (hit) cache.delete(token);
      const identity = await inner.verify(token);
      const exp = (identity as Identity & { [EXPIRES]?: number })[EXPIRES];
      if (exp !== undefined) {
        if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
        cache.set(token, { identity, expiresAtMs: exp * 1000 });
      }
      return identity;
    },
  };
}

const EXPIRES = Symbol('exp');

/**
 * Verifies signature, algorithm, kid, iss, aud, exp and nbf; then that the token says when it was
 * issued, not in the future (beyond the clock skew) and for no longer than the lifetime allowed, so
 * that a token minted to last for years is refused; then the service's own claims.
 */
export function createTokenVerifier(getKey: GetKey, options: VerifyOptions): TokenVerifier {
  return withCache(createUncachedVerifier(getKey, options));
}

function createUncachedVerifier(getKey: GetKey, options: VerifyOptions): TokenVerifier {
  return {
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw unauthorised('token is too long');
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw unauthorised('token is not a JWS');
      }
      for (const name of FOREIGN_KEY_HEADERS) if (name in header) throw unauthorised(`token header ${name} is not accepted`);
      if (typeof header.kid !== 'string' || header.kid === '') throw unauthorised('token has no kid');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms: [...options.algorithms],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockSkewSeconds,
          requiredClaims: ['exp', 'iat', 'sub'],
        }));
      } catch (error) {
        throw unauthorised(reasonOf(error));
      }
      // jose has checked that exp and iat are numbers; it checks iat against the clock only with maxTokenAge.
      const { exp, iat } = payload as { exp: number; iat: number };
      if (iat > Date.now() / 1000 + options.clockSkewSeconds) throw unauthorised('token claim iat is in the future');
      if (exp - iat > options.maxTokenLifetimeSeconds)
        throw unauthorised(`token lifetime (exp - iat) is longer than the ${options.maxTokenLifetimeSeconds} s allowed`);
      if (!validateClaims(payload)) {
        const fields = [...new Set((validateClaims.errors ?? []).map((e) => fieldOf(e, payload)))];
        throw unauthorised(`token claims missing or invalid: ${fields.join(', ')}`);
      }
      return Object.freeze(Object.assign(toIdentity(payload), { [EXPIRES]: payload.exp }));
    },
  };
}

/** A verifier over a fixed set of public keys (dev mode). */
export function createLocalKeysVerifier(keys: JWK[], options: VerifyOptions): TokenVerifier {
  return createTokenVerifier(createLocalJWKSet({ keys }), options);
}

/** A verifier over a remote JWKS; an unknown kid triggers a (rate-limited) refetch, which covers key rotation. */
export function createJwksVerifier(jwksUrl: string, cooldownSeconds: number, options: VerifyOptions): TokenVerifier {
  return createTokenVerifier(createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: cooldownSeconds * 1000, timeoutDuration: 5_000 }), options);
}
