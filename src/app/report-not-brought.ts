import { randomUUID } from 'node:crypto';
import { AppError, invalidRequest, type Issue } from '../domain/app-error.ts';
import { authoriseNotBroughtReport } from '../domain/access-rules.ts';
import type { Identity } from '../domain/identity.ts';
import { searchAuditTrailOf } from '../domain/lookup.ts';
import { checkNhsNumber } from '../domain/nhs-number.ts';
import { checkNotBroughtReport, notBroughtNotifications, type NotBroughtInput, type NotBroughtReport } from '../domain/not-brought.ts';
import type { Organisation } from '../domain/organisation.ts';
import type { VisibilityWindows } from '../domain/visibility.ts';
import type { AuditEntry, Clock, LookupStore, Metrics, NotBroughtStore } from '../ports.ts';
import { createVisiblePlansOf } from './visible-plans.ts';

/** The audit trail's name for a report. */
export const NOT_BROUGHT_ACTION = 'report:was-not-brought';

/** A report as the FHIR facade hands it over: read from the caller's resource, or the problems with its shape. */
export type NotBroughtRequest = {
  input: { ok: true; value: NotBroughtInput } | { ok: false; issues: Issue[] };
  requestId: string;
};

/** What became of a report: the id it was given, when, about which NHS number (10 digits), and the LAs told, in LA-code order (none: no visible plan). */
export type NotBroughtOutcome = { id: string; at: Date; nhsNumber: string; told: Pick<Organisation, 'code' | 'name'>[] };

function checked(identity: Identity, request: NotBroughtRequest, at: Date): NotBroughtReport {
  authoriseNotBroughtReport(identity);
  if (!request.input.ok) throw invalidRequest(request.input.issues);
  const { fields } = request.input.value;
  const result = checkNotBroughtReport(request.input.value, at);
  if (!result.ok) throw invalidRequest(result.problems.map((p) => ({ diagnostics: `${fields[p.field]} ${p.message}`, expression: [fields[p.field]] })));
  return result.report;
}

/**
 * A clinician tells the owning LAs that a child on a plan was not brought to an appointment (issue 15):
 * one `was-not-brought` notification for each LA with a visible plan, and one audit row, committed
 * together; in the lasting trail when a plan was visible, else the short-lived one (README, Privacy),
 * refusals included. It records no access: the child's access history is not touched.
 */
export function createReportNotBrought(deps: { lookups: LookupStore; reports: NotBroughtStore; clock: Clock; windows: VisibilityWindows; metrics: Metrics }) {
  const visiblePlansOf = createVisiblePlansOf(deps);

  return async function reportNotBrought(identity: Identity, request: NotBroughtRequest): Promise<NotBroughtOutcome> {
    const at = deps.clock.now();
    const candidate = request.input.ok ? checkNhsNumber(request.input.value.nhsNumber) : undefined;
    const nhsNumber = candidate?.ok ? candidate.value : null;
    const audit = (outcome: AuditEntry['outcome'], detail: Record<string, unknown>): AuditEntry => ({
      at, action: NOT_BROUGHT_ACTION, outcome, identity, nhsNumber, unscheduled: null, requestId: request.requestId, detail,
    });
    let report: NotBroughtReport;
    try {
      report = checked(identity, request, at);
    } catch (error) {
      if (error instanceof AppError) {
        // Decided before anything is read; the register is read only to choose the trail of the refusal's audit row.
        const matched = nhsNumber === null ? 0 : (await visiblePlansOf(nhsNumber, at)).plans.length;
        await deps.reports.record(audit(error.status === 403 ? 'denied' : 'invalid', { code: error.spineCode }), searchAuditTrailOf(nhsNumber, matched), []);
      }
      throw error;
    }

    const id = randomUUID();
    const { plans, organisations } = await visiblePlansOf(report.nhsNumber, at);
    const queued = await deps.reports.record(
      audit(plans.length > 0 ? 'found' : 'not-found', { communicationId: id }),
      searchAuditTrailOf(report.nhsNumber, plans.length),
      notBroughtNotifications(plans, organisations, identity, report, at),
    );
    for (const { laCode } of queued) deps.metrics.notificationsCreated(laCode, 1);
    const told = queued.map(({ laCode }) => ({ code: laCode, name: organisations.find((o) => o.code === laCode)?.name ?? laCode }));
    return { id, at, nhsNumber: report.nhsNumber, told };
  };
}
