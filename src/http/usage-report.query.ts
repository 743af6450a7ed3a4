import type { Request } from 'express';
import { invalidRequest } from '../domain/app-error.ts';
import { reportMonthOf, type ReportMonth } from '../domain/usage-report.ts';

export type ReportFormat = 'json' | 'csv';

/** The month asked for (`month=YYYY-MM`, a month of England): required. */
export function monthOf(req: Request): ReportMonth {
  const text = req.query.month;
  if (text === undefined) throw invalidRequest([{ diagnostics: 'month is required, as YYYY-MM', expression: ['month'] }], 'required');
  const month = typeof text === 'string' ? reportMonthOf(text) : undefined;
  if (!month) throw invalidRequest([{ diagnostics: 'month must be YYYY-MM, from 2000-01', expression: ['month'] }]);
  return month;
}

/** `format=json|csv`; without it, CSV only for a client whose Accept prefers text/csv to JSON. */
export function formatOf(req: Request): ReportFormat {
  const format = req.query.format;
  if (format === undefined) return req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json';
  if (format === 'json' || format === 'csv') return format;
  throw invalidRequest([{ diagnostics: 'format must be json or csv', expression: ['format'] }]);
}
