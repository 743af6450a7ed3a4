import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';

const ALG = 'ES256';
const FILE = 'dev-signing-key.json';

/** The dev-mode signing key: private part for minting, public part for verifying. */
export type DevKey = { kid: string; privateJwk: JWK; publicJwk: JWK };

async function readKey(file: string): Promise<DevKey> {
  return JSON.parse(await readFile(file, 'utf8')) as DevKey;
}

/** Loads the dev signing key from DATA_DIR, creating it on first use (safe when two processes race). */
export async function loadOrCreateDevKey(dataDir: string): Promise<DevKey> {
  const file = path.join(path.resolve(dataDir), FILE);
  try {
    return await readKey(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), alg: ALG, use: 'sig' };
  const kid = await calculateJwkThumbprint(publicJwk);
  const key: DevKey = { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG }, publicJwk: { ...publicJwk, kid } };
  try {
    await writeFile(file, JSON.stringify(key), { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKey(file);
    throw error;
  }
}

export type TokenClaims = {
  sub: string;
  role: string;
  org: string;
  name?: string;
  org_name?: string;
  setting?: string;
  activities?: string[];
  sds_user_id?: string;
  sds_role_profile_id?: string;
  job_role_code?: string;
  job_role_name?: string;
  teams?: string[];
};

/**
 * Signs a dev token with the DATA_DIR key: iat, nbf and exp from one reading of the clock, so that
 * exp − iat is exactly ttlSeconds (the verifier refuses more than AUTH_MAX_TOKEN_LIFETIME_SECONDS).
 */
export async function mintDevToken(key: DevKey, claims: TokenClaims, options: { issuer: string; audience: string; ttlSeconds: number }): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, ALG);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + options.ttlSeconds)
    .setJti(randomUUID())
    .setSubject(claims.sub)
    .sign(privateKey);
}
