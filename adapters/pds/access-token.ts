import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { Clock } from '../../src/ports.ts';

/** The token endpoint refused or failed; `retryable` when trying again may help (5xx, 429, timeout, network). */
export class AccessTokenError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(message: string, retryable: boolean, status?: number) {
    super(message);
    this.name = 'AccessTokenError';
    this.retryable = retryable;
    this.status = status;
  }
}

/** A bearer token for PDS, fetched once and shared until shortly before it expires. */
export type AccessTokenSource = { get(): Promise<string>; invalidate(): void };

export type AccessTokenOptions = {
  tokenUrl: string;
  apiKey: string;
  keyId: string;
  privateKey: CryptoKey | KeyObject;
  timeoutMs: number;
  clock: Clock;
};

// NHS England allows a client assertion at most 5 minutes; a little less leaves room for clock skew.
const ASSERTION_SECONDS = 270;

/** The signed JWT of NHS application-restricted access: RS512, `kid`, iss = sub = API key, aud = token URL. */
async function clientAssertion(o: AccessTokenOptions): Promise<string> {
  const now = Math.floor(o.clock.now().getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: o.keyId })
    .setIssuer(o.apiKey)
    .setSubject(o.apiKey)
    .setAudience(o.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_SECONDS)
    .sign(o.privateKey);
}

async function requestToken(o: AccessTokenOptions): Promise<{ token: string; lifetimeSeconds: number }> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(o),
  });
  let response: Response;
  try {
    response = await fetch(o.tokenUrl, { method: 'POST', body, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(o.timeoutMs) });
  } catch (error) {
    throw new AccessTokenError(`token request failed: ${(error as Error).name}`, true);
  }
  if (!response.ok) throw new AccessTokenError(`token endpoint answered ${response.status}`, response.status >= 500 || response.status === 429, response.status);
  const json = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
  // NHS England's endpoint sends expires_in as a string ("599").
  const lifetimeSeconds = Number(json.expires_in);
  if (typeof json.access_token !== 'string' || !(lifetimeSeconds > 0)) throw new AccessTokenError('token endpoint answered without a usable token', false);
  return { token: json.access_token, lifetimeSeconds };
}

/** Caches the token until a tenth of its life (at most a minute) before expiry; concurrent callers share one request. */
export function createAccessTokenSource(options: AccessTokenOptions): AccessTokenSource {
  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async () => {
    const { token, lifetimeSeconds } = await requestToken(options);
    const margin = Math.min(60, lifetimeSeconds / 10);
    cached = { token, refreshAt: options.clock.now().getTime() + (lifetimeSeconds - margin) * 1000 };
    return token;
  };
  return {
    get() {
      if (cached && options.clock.now().getTime() < cached.refreshAt) return Promise.resolve(cached.token);
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
