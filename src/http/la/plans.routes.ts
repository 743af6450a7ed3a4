import { Router } from 'express';
import { invalidRequest } from '../../domain/app-error.ts';
import type { createListPlans } from '../../app/list-plans.ts';

const MAX_LIMIT = 1000;

/** GET /la/v1/plans?after=&limit=: the LA's reconciliation extract, keyset-paged. */
export function plansRouter(deps: { listPlans: ReturnType<typeof createListPlans> }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/plans', async (req, res) => {
    const after = typeof req.query.after === 'string' ? req.query.after : null;
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '100';
    if (after !== null && !/^\d{1,18}$/.test(after)) throw invalidRequest([{ diagnostics: 'after must be a cursor from a previous page', expression: ['after'] }]);
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIMIT)
      throw invalidRequest([{ diagnostics: `limit must be 1 to ${MAX_LIMIT}`, expression: ['limit'] }]);
    const page = await deps.listPlans(req.identity, { after, limit: Number(limitText) });
    res.json({ plans: page.plans, next: page.next });
  });
  return router;
}
