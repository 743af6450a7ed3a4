import { dueCutoffs, escalationFor, isDue } from '../domain/escalation.ts';
import type { Clock, EscalationStore, EscalationWork, Metrics } from '../ports.ts';

/** What one pass did; counts and LA codes only, so it may be logged. `more`: it stopped at its bound with alerts maybe still due. */
export type EscalationSummary = { escalated: number; las: string[]; more: boolean };

export type EscalateAlertsDeps = {
  store: EscalationStore;
  clock: Clock;
  /** Escalations one pass queues at most, so that one pass (and one LA's transaction) stays short. */
  batchSize: number;
  metrics?: Pick<Metrics, 'alertsEscalated' | 'notificationsCreated'>;
};

/**
 * One pass of the escalation job (issue 15): every alert routed to a duty team and still not
 * acknowledged past its team's time is repeated to the escalation team, and again at the repeat
 * interval until someone acknowledges it. Each LA's escalations are decided and queued under its
 * event counter, so instances running passes at once never escalate one alert twice.
 */
export function createEscalateAlerts(deps: EscalateAlertsDeps) {
  const { store, clock } = deps;

  /** Under the LA's lock: its rules as they are now, its alerts due now, escalated. */
  async function escalateWithin(la: EscalationWork, limit: number) {
    const organisation = await la.organisation();
    const config = organisation?.dutyTeams;
    if (!organisation || !config) return [];
    const at = clock.now();
    const cutoffs = dueCutoffs(config, at);
    const due = (await la.dueAlerts(cutoffs, limit)).filter((alert) => isDue(cutoffs, alert));
    return la.escalate(due.flatMap((alert) => escalationFor(organisation, alert, at) ?? []), at);
  }

  return async function escalateAlerts(signal?: AbortSignal): Promise<EscalationSummary> {
    const summary: EscalationSummary = { escalated: 0, las: [], more: false };
    for (const la of await store.waitingLas()) {
      const budget = deps.batchSize - summary.escalated;
      if (budget <= 0 || signal?.aborted) break;
      // A look without locks first: most passes find nothing due, and need not hold up the LA's lookups.
      if (!la.dutyTeams || !(await store.anyDue(la.code, dueCutoffs(la.dutyTeams, clock.now())))) continue;
      const queued = await store.forLa(la.code, (work) => escalateWithin(work, budget));
      if (!queued?.length) continue;
      summary.escalated += queued.length;
      summary.las.push(la.code);
      deps.metrics?.alertsEscalated(la.code, queued.length);
      deps.metrics?.notificationsCreated(la.code, queued.length);
    }
    summary.more = summary.escalated >= deps.batchSize;
    return summary;
  };
}
