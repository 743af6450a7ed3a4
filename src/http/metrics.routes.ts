import { Router, type Request, type RequestHandler } from 'express';
import type { Metrics } from '../ports.ts';
import type { Authenticate } from './authenticate.ts';
import { routeLabelOf } from './route-label.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];
/**
 * A caller on this host that did not come through a proxy. A reverse proxy on the same host also
 * connects from loopback, but it adds a forwarding header: what it relays must show an ops token.
 */
const isLocalScraper = (req: Request) =>
  LOOPBACK.has(req.socket.remoteAddress ?? '') && PROXY_HEADERS.every((name) => req.headers[name] === undefined);

/** Counts every request by its route pattern (never the raw URL, which may carry an NHS number). */
export function observeRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      metrics.requestObserved(req.method, routeLabelOf(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** GET /metrics: open to a local scraper or sidecar on loopback, otherwise for role=ops tokens. */
export function metricsRouter(deps: { metrics: Metrics; authenticate: Authenticate }): Router {
  const router = Router({ caseSensitive: true });
  const ops = deps.authenticate(['ops']);
  router.get('/', (req, res, next) => (isLocalScraper(req) ? next() : ops(req, res, next)), async (_req, res) => {
    const { contentType, body } = await deps.metrics.exposition();
    res.type(contentType).send(body);
  });
  return router;
}
