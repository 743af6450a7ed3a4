import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The security headers of every answer, as helmet sets them for these options: the console needs
 * nothing inline and talks only to this origin. Helmet runs once, here, and its headers are then set
 * on each answer in one call: they never depend on the request, and twelve middleware functions per
 * request were a measurable part of a lookup's CPU time (README, Performance).
 */
const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"], connectSrc: ["'self'", 'ws:', 'wss:'], imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
};

function securityHeadersOf(options: HelmetOptions): Map<string, string> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => void headers.set(name, value),
    removeHeader: (name: string) => void headers.delete(name),
  };
  let ran = false;
  helmet(options)({} as never, recorder as never, () => (ran = true));
  // Helmet works synchronously; should a version ever not, the headers would be missing, so stop here.
  if (!ran) throw new Error('helmet did not finish synchronously: security headers could not be prepared');
  return headers;
}

export function createSecurityHeaders(): RequestHandler {
  const headers = securityHeadersOf(OPTIONS);
  return (_req, res, next) => {
    res.setHeaders(headers);
    next();
  };
}
