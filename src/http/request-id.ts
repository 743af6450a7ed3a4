import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
  }
}

/** Takes X-Request-ID (or TraceID) and X-Correlation-ID from the caller, or makes one; echoes both. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id') ?? req.get('traceid');
  const id = given && SAFE_ID.test(given) ? given : randomUUID();
  const correlation = req.get('x-correlation-id');
  req.requestId = id;
  res.set('X-Request-ID', id);
  if (correlation && SAFE_ID.test(correlation)) res.set('X-Correlation-ID', correlation);
  next();
};
