import { AppError, invalidSearchData } from '../domain/app-error.ts';
import { authoriseSearch, authoriseSearcher, readKindOf } from '../domain/access-rules.ts';
import type { Identity } from '../domain/identity.ts';
import { searchAuditTrailOf, type LookupResult } from '../domain/lookup.ts';
import { checkNhsNumber } from '../domain/nhs-number.ts';
import { accessNotifications } from '../domain/notification.ts';
import type { VisibilityWindows } from '../domain/visibility.ts';
import type { AuditEntry, Clock, LookupStore, Metrics } from '../ports.ts';
import { createVisiblePlansOf } from './visible-plans.ts';

export const HISTORY_LENGTH = 25;

const kindLabel = (unscheduled: boolean | null) => (unscheduled === null ? 'unknown' : unscheduled ? 'unscheduled' : 'silent');

/** A search as the FHIR facade hands it over: the candidate NHS number is checked here, and audited. */
export type LookupRequest = {
  resourceType: 'CareTeam' | 'Flag' | 'AuditEvent';
  patient: { ok: true; value: string } | { ok: false; diagnostics: string };
  unscheduledHeader: string | undefined;
  requestId: string;
  /** A search parameter the facade could not apply: refused, and audited, like a bad patient. */
  refusal?: { diagnostics: string; expression: string };
};

/**
 * A care setting looks a child up (docs/domain.md §5): every search is audited, in the lasting trail or,
 * naming no child with a visible plan, the short-lived one (README, Privacy); an unscheduled
 * CareTeam or Flag search that finds a visible plan records the access and notifies each owning LA.
 */
export function createLookupChild(deps: { lookups: LookupStore; clock: Clock; windows: VisibilityWindows; metrics: Metrics }) {
  const visiblePlansOf = createVisiblePlansOf(deps);

  return async function lookupChild(identity: Identity, request: LookupRequest): Promise<LookupResult> {
    const at = deps.clock.now();
    const audit = (outcome: AuditEntry['outcome'], nhsNumber: string | null, unscheduled: boolean | null, detail?: Record<string, unknown>): AuditEntry => ({
      at, action: `search:${request.resourceType}`, outcome, identity, nhsNumber, unscheduled, requestId: request.requestId, detail,
    });
    const candidate = request.patient.ok ? checkNhsNumber(request.patient.value) : undefined;
    const nhsNumber = candidate?.ok ? candidate.value : null;
    let unscheduled: boolean | null = null;
    try {
      authoriseSearcher(identity);
      const kind = readKindOf(request.unscheduledHeader);
      unscheduled = kind === 'unscheduled';
      authoriseSearch(identity, kind);
      if (!request.patient.ok) throw invalidSearchData(request.patient.diagnostics, 'patient:identifier');
      if (nhsNumber === null) throw invalidSearchData('patient:identifier is not a valid NHS number', 'patient:identifier');
      if (request.refusal) throw invalidSearchData(request.refusal.diagnostics, request.refusal.expression);
    } catch (error) {
      if (error instanceof AppError) {
        const outcome = error.status === 403 ? 'denied' : 'invalid';
        // The refusal is decided before anything is read; the register is read only to choose the trail its audit row goes to.
        const matched = nhsNumber === null ? 0 : (await visiblePlansOf(nhsNumber, at)).plans.length;
        await deps.lookups.recordAudit(audit(outcome, nhsNumber, unscheduled, { code: error.spineCode }), searchAuditTrailOf(nhsNumber, matched), 0);
        deps.metrics.lookupObserved(request.resourceType, kindLabel(unscheduled), outcome);
      }
      throw error;
    }

    const { plans, organisations } = await visiblePlansOf(nhsNumber, at);
    // The history is read in the round trip that writes the audit row: none is shown, so none is read, for no plan.
    const historyLimit = plans.length > 0 ? HISTORY_LENGTH : 0;
    let accesses;
    if (plans.length > 0 && unscheduled && request.resourceType !== 'AuditEvent') {
      const recorded = await deps.lookups.recordAccess(audit('found', nhsNumber, true), accessNotifications(plans, organisations, identity, at), historyLimit);
      for (const { laCode } of recorded.created) deps.metrics.notificationsCreated(laCode, 1);
      accesses = recorded.history;
    } else {
      accesses = await deps.lookups.recordAudit(
        audit(plans.length > 0 ? 'found' : 'not-found', nhsNumber, unscheduled), searchAuditTrailOf(nhsNumber, plans.length), historyLimit,
      );
    }
    deps.metrics.lookupObserved(request.resourceType, kindLabel(unscheduled), plans.length > 0 ? 'found' : 'not-found');
    return { nhsNumber, plans, organisations, accesses, at };
  };
}
