import { Router } from 'express';
import { invalidRequest } from '../../domain/app-error.ts';
import type { createListOutstandingRefusals } from '../../app/list-outstanding-refusals.ts';

const MAX_LIMIT = 1000;

/** GET /la/v1/refusals?after=&limit=: the LA's refusals worklist, in NHS number order, keyset-paged. */
export function refusalsRouter(deps: { listOutstandingRefusals: ReturnType<typeof createListOutstandingRefusals> }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/refusals', async (req, res) => {
    const after = req.query.after === undefined ? null : req.query.after;
    const limitText = req.query.limit === undefined ? '100' : req.query.limit;
    if (after !== null && (typeof after !== 'string' || !/^\d{10}$/.test(after)))
      throw invalidRequest([{ diagnostics: 'after must be the next cursor of a previous page (an NHS number of 10 digits)', expression: ['after'] }]);
    if (typeof limitText !== 'string' || !/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIMIT)
      throw invalidRequest([{ diagnostics: `limit must be 1 to ${MAX_LIMIT}`, expression: ['limit'] }]);
    res.json(await deps.listOutstandingRefusals(req.identity, { after, limit: Number(limitText) }));
  });
  return router;
}
