import type { RequestHandler } from 'express';
import { accessDenied } from '../domain/app-error.ts';

// What browser clients of the FHIR and LA APIs send and need to read (README, API; request-id.ts, uploads;
// Prefer and the Location of a FHIR create, https://hl7.org/fhir/R4/http.html#create).
const ALLOW_METHODS = 'GET, HEAD, POST, PUT';
const ALLOW_HEADERS = 'Authorization, Content-Type, IsUnscheduledAccessEvent, Prefer, X-Request-ID, TraceID, X-Correlation-ID, X-Sequence-Number';
const EXPOSE_HEADERS = 'X-Request-ID, X-Correlation-ID, Retry-After, WWW-Authenticate, X-Replayed, Location, ETag, Last-Modified';
const MAX_AGE_SECONDS = '600';

/**
 * Cross-origin access for the listed origins only, compared exactly. Tokens are bearer headers, so
 * credentials are never allowed. An unlisted origin is never echoed: its preflight is refused and
 * its other requests get no CORS headers (the browser then withholds the answer from the page).
 */
export function createCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    const granted = origin !== undefined && allowed.has(origin);
    if (req.method === 'OPTIONS' && origin !== undefined && req.get('access-control-request-method') !== undefined) {
      if (!granted) throw accessDenied('this origin may not call the API from a browser; the service operator lists allowed origins in CORS_ORIGINS');
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': MAX_AGE_SECONDS,
      });
      res.status(204).end();
      return;
    }
    if (granted) res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS });
    next();
  };
}
