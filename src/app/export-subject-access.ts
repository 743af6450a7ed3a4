import { randomUUID } from 'node:crypto';
import { operatorIdentity } from '../domain/identity.ts';
import { checkNhsNumber, type NhsNumberCheck } from '../domain/nhs-number.ts';
import type { Clock, HeldRow, SubjectAccessStore } from '../ports.ts';

type InvalidReason = Extract<NhsNumberCheck, { ok: false }>['reason'];

/** Why an NHS number was refused, naming the rule (docs/domain.md §4) and never the value. */
export const NHS_NUMBER_RULES: Readonly<Record<InvalidReason, string>> = {
  format: 'an NHS number is 10 digits (spaces and dashes are allowed)',
  'old-style': 'old-style (pre-1996) NHS numbers are not held; use the current 10-digit NHS number',
  checksum: 'the 10th digit is not the Modulus 11 check digit of the first nine',
  'repeated-digits': 'a number made of one repeated digit is never issued',
};

/** The export: what the service holds about one person, as of one instant. */
export type SubjectAccessExport = {
  metadata: {
    generatedAt: string;
    service: { name: string; version: string };
    nhsNumber: string;
    counts: {
      plans: number; accesses: number; notifications: number; auditEntries: number; unmatchedSearches: number; pdsRechecks: number; uploadsInProgress: number;
      refusedRecords: number;
    };
  };
  plans: HeldRow[];
  accesses: HeldRow[];
  notifications: HeldRow[];
  auditEntries: HeldRow[];
  unmatchedSearches: HeldRow[];
  pdsRechecks: HeldRow[];
  uploadsInProgress: HeldRow[];
  refusedRecords: HeldRow[];
};

export type SubjectAccessOutcome = { ok: true; export: SubjectAccessExport } | { ok: false; rule: string };

/** Raised rather than hand over an export that could be missing a table holding NHS numbers. */
export class IncompleteExportError extends Error {
  readonly tables: readonly string[];
  constructor(tables: string[]) {
    super(`tables holding NHS numbers are not covered by the subject access export: ${tables.join(', ')}`);
    this.name = 'IncompleteExportError';
    this.tables = tables;
  }
}

/**
 * An operator exports everything held about one person (the right of access): plans from every LA,
 * the access history, notifications and audit entries that name them (searches that found no visible
 * plan while they are kept), the PDS re-check state, records about them in batches still being received, and the LAs'
 * refusals worklist rows that name them.
 * The export is read in one consistent snapshot and is itself written to the audit trail before it is handed over.
 */
export function createExportSubjectAccess(deps: { store: SubjectAccessStore; clock: Clock; software: { name: string; version: string } }) {
  return async function exportSubjectAccess(input: { nhsNumber: string; operator: string }): Promise<SubjectAccessOutcome> {
    const checked = checkNhsNumber(input.nhsNumber);
    if (!checked.ok) return { ok: false, rule: NHS_NUMBER_RULES[checked.reason] };
    const nhsNumber = checked.value;
    const at = deps.clock.now();
    const { uncoveredTables, ...held } = await deps.store.readSnapshot(nhsNumber);
    if (uncoveredTables.length > 0) throw new IncompleteExportError(uncoveredTables);
    await deps.store.recordAudit({
      at, action: 'subject-access', outcome: 'ok', identity: operatorIdentity(input.operator), nhsNumber, unscheduled: null, requestId: randomUUID(),
    });
    return {
      ok: true,
      export: {
        metadata: {
          generatedAt: at.toISOString(),
          service: { name: deps.software.name, version: deps.software.version },
          nhsNumber,
          counts: {
            plans: held.plans.length,
            accesses: held.accesses.length,
            notifications: held.notifications.length,
            auditEntries: held.auditEntries.length,
            unmatchedSearches: held.unmatchedSearches.length,
            pdsRechecks: held.pdsRechecks.length,
            uploadsInProgress: held.uploadsInProgress.length,
            refusedRecords: held.refusedRecords.length,
          },
        },
        plans: held.plans,
        accesses: held.accesses,
        notifications: held.notifications,
        auditEntries: held.auditEntries,
        unmatchedSearches: held.unmatchedSearches,
        pdsRechecks: held.pdsRechecks,
        uploadsInProgress: held.uploadsInProgress,
        refusedRecords: held.refusedRecords,
      },
    };
  };
}
