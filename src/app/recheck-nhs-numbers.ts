import { setTimeout as sleep } from 'node:timers/promises';
import { londonDateOf } from '../domain/dates.ts';
import { inactivityOf, type Inactivity } from '../domain/demographics.ts';
import { inactiveNumberNotifications } from '../domain/inactive-nhs-number.ts';
import type { VisibilityWindows } from '../domain/visibility.ts';
import type { Clock, Demographics, Metrics, NhsNumberRecheckStore } from '../ports.ts';

/** What one pass did; counts only, so it may be logged. */
export type RecheckSummary = { claimed: number; current: number; retired: number; notified: number; pdsUnavailable: boolean };

export type RecheckDeps = {
  store: NhsNumberRecheckStore;
  demographics: Demographics;
  clock: Clock;
  windows: VisibilityWindows;
  /** Time between two checks of one number. */
  intervalSeconds: number;
  /** This job's own pace, within the PDS client's per-app limit that uploads share. */
  ratePerSecond: number;
  batchSize: number;
  metrics?: Pick<Metrics, 'notificationsCreated'>;
};

/**
 * Re-checks held NHS numbers on PDS (docs/domain.md §6, inactive NHS numbers): a number now superseded,
 * deceased, invalidated or restricted stops being served, and each owning LA gets one
 * `inactive-nhs-number` notification. One call is one pass over at most `batchSize` due numbers,
 * leased so that several instances share the work without doing any of it twice.
 */
export function createRecheckNhsNumbers(deps: RecheckDeps) {
  const spacingMs = 1000 / deps.ratePerSecond;
  const intervalMs = deps.intervalSeconds * 1000;
  // Long enough for the whole pass at this pace; a crashed instance's lease simply runs out.
  const leaseMs = deps.batchSize * spacingMs + 60_000;

  async function retire(nhsNumber: string, inactivity: Inactivity): Promise<number> {
    const at = deps.clock.now();
    const created = await deps.store.retire({ nhsNumber, at, ...inactivity }, (plans, organisations) =>
      inactiveNumberNotifications(plans, organisations, inactivity, at, londonDateOf(at), deps.windows),
    );
    for (const { laCode } of created) deps.metrics?.notificationsCreated(laCode, 1);
    return created.length;
  }

  return async function recheckNhsNumbers(signal?: AbortSignal): Promise<RecheckSummary> {
    const due = await deps.store.claimDue(deps.clock.now(), deps.batchSize, leaseMs, intervalMs);
    const summary: RecheckSummary = { claimed: due.length, current: 0, retired: 0, notified: 0, pdsUnavailable: false };
    const started = Date.now();
    for (const [i, nhsNumber] of due.entries()) {
      const wait = started + i * spacingMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      // Stopping leaves the rest leased; another pass or instance takes them when the lease runs out.
      if (signal?.aborted) break;
      const result = await deps.demographics.lookUp(nhsNumber);
      // The rest of the leased numbers are tried again on a later pass, once their lease runs out.
      if (result.kind === 'unavailable') {
        summary.pdsUnavailable = true;
        break;
      }
      const inactivity = inactivityOf(result);
      if (inactivity) {
        summary.notified += await retire(nhsNumber, inactivity);
        summary.retired++;
      } else {
        const checkedAt = deps.clock.now();
        await deps.store.markChecked(nhsNumber, checkedAt, new Date(checkedAt.getTime() + intervalMs));
        summary.current++;
      }
    }
    return summary;
  };
}
