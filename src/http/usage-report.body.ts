import type { LaUsage, ReportFrame } from '../app/report-usage.ts';
import { NOTIFICATION_TYPES } from '../domain/notification.ts';
import type { UsageFigures } from '../domain/usage-report.ts';

/** The month, when the report was made, and whether (and why not) it is complete: the head of every usage report. */
function frameBody({ month, generatedAt, shortfalls }: ReportFrame) {
  return {
    month: month.month, timeZone: 'Europe/London', from: month.from.toISOString(), to: month.to.toISOString(), generatedAt: generatedAt.toISOString(),
    complete: shortfalls.length === 0, shortfalls,
  };
}

/** One LA's report (schemas/usage-report.schema.json). */
export const toLaUsageBody = (report: ReportFrame & { la: LaUsage }) => ({
  ...frameBody(report), la: { code: report.la.code, name: report.la.name }, ...report.la.figures,
});

/** Every LA's report, and all together (schemas/usage-report-all-las.schema.json). */
export const toAllUsageBody = (report: ReportFrame & { las: LaUsage[]; total: UsageFigures }) => ({
  ...frameBody(report), las: report.las.map((l) => ({ la: { code: l.code, name: l.name }, ...l.figures })), total: report.total,
});

type Cell = string | number | null;
type Row = [la: string, metric: string, key: Cell, label: Cell, value: Cell];

/** The LA column of the rows over every LA together. */
export const ALL_LAS = '*';

/**
 * One cell of RFC 4180 CSV. Text a spreadsheet would take for a formula (=, +, -, @, a tab or a CR first)
 * is prefixed with an apostrophe: organisation names come from tokens, not from this service.
 */
function cell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function figureRows(la: string, f: UsageFigures): Row[] {
  const { unscheduledAccesses: u, notifications: n, acknowledgement: a } = f;
  return [
    [la, 'unscheduledAccesses', null, null, u.total],
    ...u.bySetting.map((s): Row => [la, 'unscheduledAccesses.bySetting', s.setting, null, s.count]),
    ...u.byOrganisation.map((o): Row => [la, 'unscheduledAccesses.byOrganisation', o.code, o.name, o.count]),
    [la, 'silentReads', null, null, f.silentReads.total],
    [la, 'notifications', null, null, n.total],
    ...NOTIFICATION_TYPES.map((type): Row => [la, 'notifications.byType', type, null, n.byType[type]]),
    [la, 'acknowledgement.alerts', null, null, a.alerts],
    [la, 'acknowledgement.acknowledged', null, null, a.acknowledged],
    [la, 'acknowledgement.p50Seconds', null, null, a.p50Seconds],
    [la, 'acknowledgement.p95Seconds', null, null, a.p95Seconds],
  ];
}

function frameRows(report: ReportFrame): Row[] {
  const head = frameBody(report);
  return [
    ['', 'month', null, null, head.month], ['', 'timeZone', null, null, head.timeZone], ['', 'from', null, null, head.from], ['', 'to', null, null, head.to],
    ['', 'generatedAt', null, null, head.generatedAt], ['', 'complete', null, null, String(head.complete)],
    ...head.shortfalls.map((s): Row => ['', 'shortfall', s.reason, s.metrics.join(' '), s.heldFrom ?? null]),
  ];
}

const laRows = (l: LaUsage): Row[] => [[l.code, 'name', null, null, l.name], ...figureRows(l.code, l.figures)];

const toCsv = (rows: Row[]) => [['la', 'metric', 'key', 'label', 'value'], ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';

/** One LA's report as CSV rows `la,metric,key,label,value` (README, Usage reports). */
export const toLaUsageCsv = (report: ReportFrame & { la: LaUsage }) => toCsv([...frameRows(report), ...laRows(report.la)]);

/** Every LA's report as CSV: each LA's rows, then those over all LAs together (la `*`). */
export const toAllUsageCsv = (report: ReportFrame & { las: LaUsage[]; total: UsageFigures }) =>
  toCsv([...frameRows(report), ...report.las.flatMap(laRows), ...figureRows(ALL_LAS, report.total)]);
