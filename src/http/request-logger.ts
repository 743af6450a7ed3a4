import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { routeLabelOf } from './route-label.ts';

type Served = IncomingMessage & { identity?: { role: string; org: string } };

/**
 * One line per request: method, route pattern (never the path or query, which can carry NHS
 * numbers), status, time, request id and the caller's role and organisation. No headers, no bodies.
 */
export function createRequestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { requestId?: string }).requestId ?? '',
    serializers: {
      req: (req: { id: string; method: string }) => ({ id: req.id, method: req.method }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    wrapSerializers: false,
    // Called as the request starts and again as it ends; only the end knows the route and the caller.
    customProps: (req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) return {};
      const { identity } = req as Served;
      return { route: routeLabelOf(req), ...(identity ? { role: identity.role, org: identity.org } : {}) };
    },
    // A 503 is the service telling the caller to come back (database outage, PDS down): the cause is
    // logged where it is found, and an outage must not bury real faults under a line per request.
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
      error || (res.statusCode >= 500 && res.statusCode !== 503) ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    quietReqLogger: true,
  });
}
