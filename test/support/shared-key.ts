import { loadConfig } from '../../src/config.ts';
import { loadOrCreateDevKey, mintDevToken, type TokenClaims } from '../../adapters/auth/dev-keys.ts';

/**
 * Makes the dev signing key in DATA_DIR before any instance starts, so that every instance spawned
 * on that DATA_DIR (dev mode, default issuer and audience) accepts the tokens this mints.
 */
export async function sharedKeyTokens(dataDir: string): Promise<(claims: TokenClaims, ttlSeconds?: number) => Promise<string>> {
  const key = await loadOrCreateDevKey(dataDir);
  const { auth } = loadConfig({});
  return (claims, ttlSeconds = 600) => mintDevToken(key, claims, { issuer: auth.issuer, audience: auth.audience, ttlSeconds });
}
