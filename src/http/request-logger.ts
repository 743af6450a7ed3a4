import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { routeLabelOf } from './route-label.ts';

/**
 * One line per request, written when the answer has been sent or the connection closed: method,
 * route pattern (never the path or query, which can carry NHS numbers), status, time, request id and
 * the caller's role and organisation. No headers, no bodies.
 *
 * Written here rather than with pino-http: that made three child loggers per request to write the
 * same line, a tenth of a lookup's CPU time (README, Performance).
 *
 * A 503 is the service telling the caller to come back (database outage, PDS down): the cause is
 * logged where it is found, and an outage must not bury real faults under a line per request, so it
 * is a warning; any other 5xx is an error.
 */
export function createRequestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = Date.now();
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const status = res.statusCode;
      const level = status >= 500 && status !== 503 ? 'error' : status >= 400 ? 'warn' : 'info';
      const { identity } = req;
      logger[level](
        {
          reqId: req.requestId, req: { id: req.requestId, method: req.method }, route: routeLabelOf(req),
          ...(identity ? { role: identity.role, org: identity.org } : {}),
          res: { statusCode: status }, responseTime: Date.now() - startedAt,
        },
        status >= 500 ? 'request failed' : 'request completed',
      );
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
