import type { RequestHandler } from 'express';
import { accessDenied, unauthorised } from '../domain/app-error.ts';
import type { Identity, Role } from '../domain/identity.ts';
import type { TokenVerifier } from '../ports.ts';
import type { RateLimiter } from './rate-limit.ts';

declare module 'express-serve-static-core' {
  interface Request {
    identity: Identity;
  }
}

/** Extracts the bearer token from an Authorization header value. */
export function bearerOf(header: string | undefined): string {
  const match = header ? /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim()) : null;
  if (!match?.[1]) throw unauthorised(header ? 'Authorization must be "Bearer <token>"' : 'Authorization header is required');
  return match[1];
}

/** Middleware that requires a verified bearer token with one of the given roles. */
export type Authenticate = (roles: readonly Role[]) => RequestHandler;

/** Every route's gate: verify the token, spend one request of the caller's rate limit, check the role. */
export function createAuthenticate(verifier: TokenVerifier, limiter: RateLimiter): Authenticate {
  return (roles) => async (req, _res, next) => {
    const identity = await verifier.verify(bearerOf(req.get('authorization')));
    limiter.take(`${identity.org}:${identity.sub}`);
    if (!roles.includes(identity.role)) throw accessDenied(`role ${identity.role} may not use this endpoint`);
    req.identity = identity;
    next();
  };
}
