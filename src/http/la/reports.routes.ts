import { Router } from 'express';
import type { createReportLaUsage } from '../../app/report-usage.ts';
import { toLaUsageBody, toLaUsageCsv } from '../usage-report.body.ts';
import { formatOf, monthOf } from '../usage-report.query.ts';

/** GET /la/v1/reports/usage?month=YYYY-MM: the caller's LA's usage in a month, as JSON or CSV. */
export function reportsRouter(deps: { reportLaUsage: ReturnType<typeof createReportLaUsage> }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/reports/usage', async (req, res) => {
    const month = monthOf(req);
    const format = formatOf(req);
    const report = await deps.reportLaUsage(req.identity, month);
    if (format === 'json') {
      res.json(toLaUsageBody(report));
      return;
    }
    res.attachment(`cpis-usage-${report.la.code}-${month.month}.csv`).type('text/csv; charset=utf-8').send(toLaUsageCsv(report));
  });
  return router;
}
