import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';

const LABEL = Symbol('routeLabel');
type Labelled = IncomingMessage & { [LABEL]?: { mount: string; route?: string } };

/**
 * Remembers which route pattern served a request, for its log line and metrics. Express sets
 * `req.baseUrl` and `req.route` while a router handles the request and restores `baseUrl` when an
 * error leaves the router, so reading them when the response ends would lose the mount path of
 * every error answer (a 401 from the /la/v1 gate, a FHIR 400). Observing the assignments keeps it.
 */
export const trackRouteLabel: RequestHandler = (req, _res, next) => {
  const seen: { mount: string; route?: string } = { mount: '' };
  (req as Labelled)[LABEL] = seen;
  let baseUrl = req.baseUrl;
  let route: unknown = req.route;
  Object.defineProperty(req, 'baseUrl', {
    configurable: true,
    enumerable: true,
    get: () => baseUrl,
    set: (value: string) => {
      baseUrl = value;
      if (value) seen.mount = value;
    },
  });
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: { path?: unknown } | undefined) => {
      route = value;
      if (value?.path !== undefined) seen.route = `${baseUrl}${String(value.path)}`;
    },
  });
  next();
};

/**
 * The route pattern that served a request, or the mount it reached, or `unmatched`. Never the raw
 * path: a client may put an NHS number or a name in it (`/Patient/<NHS number>`).
 */
export function routeLabelOf(req: IncomingMessage): string {
  const seen = (req as Labelled)[LABEL];
  return seen?.route ?? (seen?.mount || 'unmatched');
}
