import type { Acknowledgement } from '../domain/acknowledgement.ts';
import { AppError } from '../domain/app-error.ts';
import type { Identity } from '../domain/identity.ts';
import type { AuditEntry, BatchSession, UploadStore } from '../ports.ts';
import { createPublishBatch, type BatchSource } from './publish-batch.ts';

/** The acknowledgement a batch would get, marked as a dry run: nothing of it was kept. */
export type DryRunOutcome = { replayed: boolean; acknowledgement: Acknowledgement & { dryRun: true } };

const DRY_RUN_ACTION = 'upload:dry-run';

/** A dry run's audit row: the batch's own (counts and codes only), under its own action. */
const asDryRun = (entry: AuditEntry): AuditEntry => ({ ...entry, action: DRY_RUN_ACTION, detail: { ...entry.detail, dryRun: true } });

/** A session whose audit rows are a dry run's; the store's dry-run session already keeps nothing else. */
function dryRunSession(session: BatchSession): BatchSession {
  return {
    lastSequenceNumber: () => session.lastSequenceNumber(),
    acknowledgementOf: (sequenceNumber) => session.acknowledgementOf(sequenceNumber),
    stage: (index, plan, verifiedAt) => session.stage(index, plan, verifiedAt),
    refuse: (rejection, nhsNumber) => session.refuse(rejection, nhsNumber),
    withdrawConflicting: () => session.withdrawConflicting(),
    commit: (acknowledgement, audit) => session.commit(acknowledgement, asDryRun(audit)),
    abort: (audit) => session.abort(audit && asDryRun(audit)),
  };
}

/** The upload store as a dry run sees it: sessions are dry runs, and every audit row says so. */
function dryRunUploads(uploads: UploadStore): UploadStore {
  return {
    ...uploads,
    open: async (laCode, uploadId) => {
      const session = await uploads.openDryRun(laCode, uploadId);
      return session && dryRunSession(session);
    },
    recordAudit: (entry) => uploads.recordAudit(asDryRun(entry)),
  };
}

/**
 * A dry run of a batch (POST /la/v1/uploads?dryRun=true): the very story of publishing it, with the same
 * readers, record rules, one-identity check, LA checks and PDS cross-check, and the same answer (a resent
 * sequence number its stored acknowledgement, a lower one 409), but on a session that keeps nothing: no
 * plan, upload, refusal page or worklist change, and the sequence number stays free. One audit row
 * (`upload:dry-run`, counts only) says it ran.
 */
export function createDryRunBatch(deps: Parameters<typeof createPublishBatch>[0]) {
  const publish = createPublishBatch({ ...deps, uploads: dryRunUploads(deps.uploads) });
  return async function dryRunBatch(identity: Identity, source: BatchSource, requestId: string): Promise<DryRunOutcome> {
    try {
      const { replayed, acknowledgement } = await publish(identity, source, requestId);
      return { replayed, acknowledgement: { ...acknowledgement, dryRun: true } };
    } catch (error) {
      // The slot a dry run waits for is a dry run's, never the LA's upload slot: say so.
      if (error instanceof AppError && error.status === 429)
        throw new AppError(429, error.spineCode, error.issueCode, 'another dry run of this LA is being received; send this one again once that one has been answered', error.headers);
      throw error;
    }
  };
}
