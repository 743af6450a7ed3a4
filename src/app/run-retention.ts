import { londonDateOf } from '../domain/dates.ts';
import { latestBirthDateAdultBy, over18Batch, purgeCriteriaFor } from '../domain/retention.ts';
import type { VisibilityWindows } from '../domain/visibility.ts';
import type { Clock, Metrics, RetentionBatch, RetentionStore, RetentionWork } from '../ports.ts';

/** What one pass did; counts only, so it may be logged. `ran` is false when another instance held the pass. */
export type RetentionSummary = {
  ran: boolean;
  endedOver18: number;
  notified: number;
  plansPurged: number;
  peopleForgotten: number;
  notificationsPurged: number;
  auditPurged: number;
  unmatchedSearchesPurged: number;
  refusalsPurged: number;
};

export type RetentionDeps = {
  store: RetentionStore;
  clock: Clock;
  windows: VisibilityWindows;
  notificationRetentionDays: number;
  auditRetentionDays: number;
  /** Days a search that found no visible plan is kept: not a register of all children (README, Privacy). */
  unmatchedSearchRetentionDays: number;
  /** Days a child stays on its LA's refusals worklist after a batch last refused it. */
  refusalRetentionDays: number;
  /** Rows per transaction, so that a large register never holds one long transaction. */
  batchSize: number;
  metrics?: Pick<Metrics, 'notificationsCreated' | 'retentionApplied'>;
};

const DAY_MS = 86_400_000;

const daysBefore = (at: Date, days: number) => new Date(at.getTime() - days * DAY_MS);

/**
 * One retention pass (docs/domain.md §1, §3): ends CPP and LAC plans whose subject has turned 18 and tells
 * each owning LA once; purges plans past their visibility window or with a delete date; drops
 * acknowledged notifications, audit rows and searches that found no visible plan past their retention, and worklist rows
 * of children no batch has refused for REFUSAL_RETENTION_DAYS. Each step works in batches until
 * nothing more is due, and stops between batches when the signal aborts.
 */
export function createRunRetention(deps: RetentionDeps) {
  const { batchSize, metrics } = deps;

  /** Runs a step batch after batch while the store reports more due. */
  async function drain<T extends RetentionBatch>(signal: AbortSignal | undefined, step: (at: Date) => Promise<T>, onBatch: (batch: T) => void) {
    for (;;) {
      const batch = await step(deps.clock.now());
      onBatch(batch);
      if (!batch.more || signal?.aborted) return;
    }
  }

  function endPlansOver18(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    const step = (at: Date) => {
      const today = londonDateOf(at);
      return work.endPlansOver18(latestBirthDateAdultBy(today), batchSize, at, (plans, organisations) => over18Batch(plans, organisations, at, today, deps.windows));
    };
    return drain(signal, step, (b) => {
      summary.endedOver18 += b.changed;
      summary.notified += b.notified.length;
      metrics?.retentionApplied('ended-over-18', b.changed);
      for (const { laCode } of b.notified) metrics?.notificationsCreated(laCode, 1);
    });
  }

  function purgePlans(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    return drain(signal, (at) => work.purgePlans(purgeCriteriaFor(londonDateOf(at), deps.windows), batchSize, at), (b) => {
      summary.plansPurged += b.changed;
      summary.peopleForgotten += b.peopleForgotten;
      metrics?.retentionApplied('plans', b.changed);
    });
  }

  function purgeNotifications(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    return drain(signal, (at) => work.purgeNotifications(daysBefore(at, deps.notificationRetentionDays), batchSize, at), (b) => {
      summary.notificationsPurged += b.changed;
      metrics?.retentionApplied('notifications', b.changed);
    });
  }

  function purgeAudit(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    return drain(signal, (at) => work.purgeAudit(daysBefore(at, deps.auditRetentionDays), batchSize, at, deps.auditRetentionDays), (b) => {
      summary.auditPurged += b.changed;
      metrics?.retentionApplied('audit', b.changed);
    });
  }

  function purgeUnmatchedSearches(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    return drain(signal, (at) => work.purgeUnmatchedSearches(daysBefore(at, deps.unmatchedSearchRetentionDays), batchSize, at, deps.unmatchedSearchRetentionDays), (b) => {
      summary.unmatchedSearchesPurged += b.changed;
      metrics?.retentionApplied('unmatched-searches', b.changed);
    });
  }

  function purgeRefusals(work: RetentionWork, summary: RetentionSummary, signal?: AbortSignal) {
    return drain(signal, (at) => work.purgeRefusals(daysBefore(at, deps.refusalRetentionDays), batchSize, at), (b) => {
      summary.refusalsPurged += b.changed;
      metrics?.retentionApplied('refusals', b.changed);
    });
  }

  // Over-18 first: a plan it ends may be purged by the same pass only if already past its window.
  const steps = [endPlansOver18, purgePlans, purgeNotifications, purgeAudit, purgeUnmatchedSearches, purgeRefusals];

  return async function runRetention(signal?: AbortSignal): Promise<RetentionSummary> {
    const summary: RetentionSummary = {
      ran: false, endedOver18: 0, notified: 0, plansPurged: 0, peopleForgotten: 0, notificationsPurged: 0, auditPurged: 0, unmatchedSearchesPurged: 0,
      refusalsPurged: 0,
    };
    const ran = await deps.store.exclusively(async (work) => {
      for (const step of steps) {
        if (signal?.aborted) break;
        await step(work, summary, signal);
      }
      return true;
    });
    summary.ran = ran === true;
    return summary;
  };
}
