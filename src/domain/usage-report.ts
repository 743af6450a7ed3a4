import type { IsoDate } from './dates.ts';
import { londonWallClockOf, possibleInstantsOf, utcMidnightOf } from './london-time.ts';
import { NOTIFICATION_TYPES, type NotificationType } from './notification.ts';

/** A calendar month of England (Europe/London): from its first midnight, to the next month's. */
export type ReportMonth = { month: string; from: Date; to: Date };

/** What one LA's usage was in a month, or that of every LA together (README, Usage reports). */
export type UsageFigures = {
  unscheduledAccesses: {
    total: number;
    /** Most first; the kind of setting as the clinician's token named it (null: none named). */
    bySetting: { setting: string | null; count: number }[];
    byOrganisation: { code: string; name: string; count: number }[];
  };
  silentReads: { total: number };
  notifications: { total: number; byType: Record<NotificationType, number> };
  /** Alerts (access, was-not-brought) of the month: how many, how many acknowledged, and how long that took. */
  acknowledgement: { alerts: number; acknowledged: number; p50Seconds: number | null; p95Seconds: number | null };
};

/** The figures of a month with nothing in it. */
export const noUsage = (): UsageFigures => ({
  unscheduledAccesses: { total: 0, bySetting: [], byOrganisation: [] },
  silentReads: { total: 0 },
  notifications: { total: 0, byType: Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, 0])) as Record<NotificationType, number> },
  acknowledgement: { alerts: 0, acknowledged: 0, p50Seconds: null, p95Seconds: null },
});

export const USAGE_METRICS = ['unscheduledAccesses', 'silentReads', 'notifications', 'acknowledgement'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

/** Why some figures of a month may be short of what happened, and which. */
export type Shortfall = {
  reason: 'month-not-started' | 'month-not-ended' | 'notification-retention' | 'audit-retention';
  metrics: UsageMetric[];
  /** For a retention period: from when the rows it reads are all still held. */
  heldFrom?: string;
};

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Midnight at the start of a date in England: 00:00 GMT, or 23:00 UTC the day before in summer time. */
function londonMidnightOf(date: IsoDate): Date {
  const [asGmt, asBst] = possibleInstantsOf(utcMidnightOf(date), '00:00');
  return new Date(londonWallClockOf(new Date(asBst)).date === date ? asBst : asGmt);
}

/** `YYYY-MM` as a month of England, or undefined when it is not one (year 2000 to 9999). */
export function reportMonthOf(text: string): ReportMonth | undefined {
  const m = MONTH.exec(text);
  if (!m || Number(m[1]) < 2000) return undefined;
  const [year, month] = [Number(m[1]), Number(m[2])];
  const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
  return { month: text, from: londonMidnightOf(`${text}-01`), to: londonMidnightOf(`${next}-01`) };
}

const DAY_MS = 86_400_000;

/**
 * What a report of the month, made now, cannot show in full: a month not begun or not over; rows the
 * retention job may already have purged (acknowledged notifications after NOTIFICATION_RETENTION_DAYS,
 * which every figure but silent reads is read from; the audit trail, which silent reads are, after
 * AUDIT_RETENTION_DAYS). Empty: the month is complete.
 */
export function shortfallsOf(month: ReportMonth, now: Date, retention: { notificationDays: number; auditDays: number }): Shortfall[] {
  if (now < month.from) return [{ reason: 'month-not-started', metrics: [...USAGE_METRICS] }];
  const shortfalls: Shortfall[] = [];
  if (now < month.to) shortfalls.push({ reason: 'month-not-ended', metrics: [...USAGE_METRICS] });
  const notificationsFrom = new Date(now.getTime() - retention.notificationDays * DAY_MS);
  if (month.from < notificationsFrom) {
    shortfalls.push({
      reason: 'notification-retention', metrics: ['unscheduledAccesses', 'notifications', 'acknowledgement'], heldFrom: notificationsFrom.toISOString(),
    });
  }
  const auditFrom = new Date(now.getTime() - retention.auditDays * DAY_MS);
  if (month.from < auditFrom) shortfalls.push({ reason: 'audit-retention', metrics: ['silentReads'], heldFrom: auditFrom.toISOString() });
  return shortfalls;
}
