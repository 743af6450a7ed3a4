import { Router, type Request } from 'express';
import { asyncApiDocument } from './asyncapi.ts';
import { openApiDocument } from './openapi.ts';

/**
 * GET /la/v1/openapi.json and GET /la/v1/asyncapi.json: the LA API's contracts, open (no token), so
 * that an LA's developers and their tools can read them before they hold one.
 */
export function contractsRouter(deps: { software: { name: string; version: string }; publicBaseUrl: string }): Router {
  const router = Router({ caseSensitive: true });
  const openApi = JSON.stringify(openApiDocument(deps.software));
  // The stream's server is where clients reach the service: PUBLIC_BASE_URL, else (development only) the request's host.
  const baseUrlOf = (req: Request) => deps.publicBaseUrl || `${req.protocol}://${req.get('host')}`;
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApi);
  });
  router.get('/asyncapi.json', (req, res) => {
    res.json(asyncApiDocument(deps.software, baseUrlOf(req)));
  });
  return router;
}
