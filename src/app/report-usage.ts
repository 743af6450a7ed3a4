import type { Identity } from '../domain/identity.ts';
import { noUsage, shortfallsOf, type ReportMonth, type Shortfall, type UsageFigures } from '../domain/usage-report.ts';
import type { Clock, UsageStore } from '../ports.ts';

/** The frame of every usage report: which month, when it was made, and what it cannot show in full. */
export type ReportFrame = { month: ReportMonth; generatedAt: Date; shortfalls: Shortfall[] };

export type LaUsage = { code: string; name: string; figures: UsageFigures };

export type UsageDeps = {
  usage: UsageStore;
  clock: Clock;
  /** NOTIFICATION_RETENTION_DAYS and AUDIT_RETENTION_DAYS: past them, rows the figures count may have been purged. */
  retention: { notificationDays: number; auditDays: number };
};

const frameOf = (deps: UsageDeps, month: ReportMonth): ReportFrame => {
  const generatedAt = deps.clock.now();
  return { month, generatedAt, shortfalls: shortfallsOf(month, generatedAt, deps.retention) };
};

/** The caller's LA's usage in a month (README, Usage reports): computed from what the service keeps, with what it cannot show. */
export function createReportLaUsage(deps: UsageDeps) {
  return async function reportLaUsage(identity: Identity, month: ReportMonth): Promise<ReportFrame & { la: LaUsage }> {
    const frame = frameOf(deps, month);
    const [{ las }, known] = await Promise.all([deps.usage.usage(month, identity.org), deps.usage.las(identity.org)]);
    // An LA never set up is named as its token names it.
    const name = known[0]?.name ?? identity.orgName;
    return { ...frame, la: { code: identity.org, name, figures: las.get(identity.org) ?? noUsage() } };
  };
}

/** Every LA's usage in a month, and all together, for operators: LA codes and counts, nothing of a child. */
export function createReportAllUsage(deps: UsageDeps) {
  return async function reportAllUsage(month: ReportMonth): Promise<ReportFrame & { las: LaUsage[]; total: UsageFigures }> {
    const frame = frameOf(deps, month);
    const [{ las, total }, known] = await Promise.all([deps.usage.usage(month), deps.usage.las()]);
    return { ...frame, las: known.map(({ code, name }) => ({ code, name, figures: las.get(code) ?? noUsage() })), total };
  };
}
