import { Router } from 'express';
import type { createReportAllUsage } from '../../app/report-usage.ts';
import { toAllUsageBody, toAllUsageCsv } from '../usage-report.body.ts';
import { formatOf, monthOf } from '../usage-report.query.ts';

/** GET /ops/v1/reports/usage?month=YYYY-MM: every LA's usage in a month, and all together, as JSON or CSV. Role `ops` (app.ts). */
export function opsReportsRouter(deps: { reportAllUsage: ReturnType<typeof createReportAllUsage> }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/reports/usage', async (req, res) => {
    const month = monthOf(req);
    const format = formatOf(req);
    const report = await deps.reportAllUsage(month);
    if (format === 'json') {
      res.json(toAllUsageBody(report));
      return;
    }
    res.attachment(`cpis-usage-all-las-${month.month}.csv`).type('text/csv; charset=utf-8').send(toAllUsageCsv(report));
  });
  return router;
}
