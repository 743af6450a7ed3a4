import { Router } from 'express';
import type { ReadinessProbe } from '../ports.ts';

/** /health/live and /health/ready: open, with no patient data. */
export function healthRouter(deps: { readiness: ReadinessProbe[]; isDraining: () => boolean }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const results = await Promise.all(deps.readiness.map((probe) => probe.check()));
    const checks = Object.assign({ draining: { ok: !deps.isDraining() } }, ...results) as Record<string, { ok: boolean }>;
    const ready = Object.values(checks).every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  return router;
}
