import { Router } from 'express';
import type { Readiness } from '../app/check-readiness.ts';

/** /health/live and /health/ready: open, with no patient data. */
export function healthRouter(deps: { checkReadiness: () => Promise<Readiness> }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const { ready, checks } = await deps.checkReadiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  return router;
}
