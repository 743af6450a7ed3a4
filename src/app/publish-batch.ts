import { randomUUID } from 'node:crypto';
import { batchResultOf, createRefusalTally, RECORD_RESULT, type Acknowledgement, type RecordDetail, type RecordRejection } from '../domain/acknowledgement.ts';
import type { IdentityField } from '../domain/person.ts';
import { AppError, businessRuleFailed, duplicateRejected, invalidRequest } from '../domain/app-error.ts';
import { londonDateOf } from '../domain/dates.ts';
import type { Identity } from '../domain/identity.ts';
import { LA_CONTACT_MISSING, missingContact } from '../domain/organisation.ts';
import { LA_NOT_REGISTERED, LA_SUSPENDED, standingRefusal, type RegistrationMode, type StandingRefusal } from '../domain/registry.ts';
import type { AuditEntry, BatchSession, Clock, LaRegistryStore, OrganisationStore, UploadStore } from '../ports.ts';
import type { RecordValidator } from './record-validator.ts';
import { createStaging } from './verified-staging.ts';
import type { DemographicsVerifier } from './verify-demographics.ts';
import { worklistKeyOf } from '../domain/refusal-worklist.ts';

/**
 * One record as read off the wire: parsed, or unreadable with a reason (and a detail code, UNREADABLE
 * by default). `keys`, where the reader saw the text, are the record's top-level member names in the
 * order sent, repeats included: what parsing alone loses.
 */
export type RawRecord = { ok: true; value: unknown; keys?: readonly string[] } | { ok: false; message: string; code?: string };

/** A batch being read: its records, and its sequence number once it has been seen (header or body). */
export type BatchSource = { records: AsyncIterable<RawRecord>; sequenceNumber(): number | undefined };

export type PublishOutcome = { replayed: boolean; acknowledgement: Acknowledgement };

// About how long an upload of a few thousand records takes: when to try again after a 429.
const BUSY_RETRY_AFTER_SECONDS = 5;

/** The audit row of one batch: counts and codes only, never a record's contents. */
function uploadAudit(identity: Identity, at: Date, requestId: string, outcome: AuditEntry['outcome'], detail: Record<string, unknown>): AuditEntry {
  return { at, action: 'upload', outcome, identity, nhsNumber: null, unscheduled: null, requestId, detail };
}

/** A refused batch, audited by its error's codes; anything else (a 500) is left to the error handler. */
function refusalAudit(error: unknown, sequenceNumber: number | undefined): [AuditEntry['outcome'], Record<string, unknown>] | undefined {
  if (!(error instanceof AppError)) return undefined;
  const result = /\b(CPF0[1-5])\b/.exec(error.message)?.[1] ?? null;
  // The LA's standing or set-up (LA_SUSPENDED, …): the code the diagnostics open with.
  const reason = /^(LA_[A-Z_]+):/.exec(error.message)?.[1];
  return [
    error.status === 503 ? 'unavailable' : 'invalid',
    { sequenceNumber: sequenceNumber ?? null, result, code: error.spineCode, status: error.status, ...(reason ? { reason } : {}) },
  ];
}

/** CPR07 for a record whose identity fields disagree with the LA's other plans of the child: the fields, never the values. */
function identityConflict(fields: readonly IdentityField[]): RecordDetail {
  return {
    code: 'DEMOGRAPHICS_CONFLICT',
    field: fields[0] ?? '(record)',
    message:
      `${fields.join(', ')} differ from what this LA holds for this NHS number on another plan, or from another record of it in this batch: ` +
      'one child has one set of details. Send every plan of the child, with the same details, in one batch',
  };
}

// Defined with the rule in domain/organisation.ts; still exported here, where callers have imported it from.
export { LA_CONTACT_MISSING };

const contactMissing = (missing: readonly string[]) =>
  businessRuleFailed(
    `${LA_CONTACT_MISSING}: set both the office-hours and the EDT phone numbers with PUT /la/v1/organisation before publishing ` +
      `(missing: ${missing.join(', ')}); nothing of this batch was read or loaded, and its sequence number is still free`,
  );

const NOTHING_USED = 'nothing of this batch was loaded, and its sequence number is still free';
const STANDING_REFUSALS: Record<StandingRefusal, string> = {
  [LA_NOT_REGISTERED]:
    `${LA_NOT_REGISTERED}: this service takes uploads only from LAs its operators have registered (LA_REGISTRATION=required), ` +
    `and this LA is not registered: ask the service's operators to register it; ${NOTHING_USED}`,
  [LA_SUSPENDED]:
    `${LA_SUSPENDED}: the service's operators have suspended this LA's uploads; the plans already held are still served to clinicians. ` +
    `Ask the operators to reinstate it; ${NOTHING_USED}`,
};
const standingRefused = (code: StandingRefusal) => businessRuleFailed(STANDING_REFUSALS[code]);

const uploadInProgress = () =>
  new AppError(
    429, 'TOO_MANY_REQUESTS', 'throttled',
    'another upload of this LA is being received; send this batch again once that one has been acknowledged',
    { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
  );

/** The stored acknowledgement of a resent sequence number, or 409 for one that goes backwards; undefined for a new one. */
async function earlierBatch(session: BatchSession, sequenceNumber: number, last: number | undefined): Promise<Acknowledgement | undefined> {
  if (last === undefined || sequenceNumber > last) return undefined;
  const stored = sequenceNumber === last ? await session.acknowledgementOf(sequenceNumber) : undefined;
  if (stored) return stored;
  throw duplicateRejected(`sequenceNumber ${sequenceNumber} is not after the last accepted batch (${last})`);
}

/**
 * Publishes an LA's batch: every record is checked (and, with `verifyDemographics`, cross-checked on
 * PDS) as it is read, with no database connection held meanwhile; valid ones load in one transaction
 * with the acknowledgement and the batch's audit row. Replays and refusals, which load nothing, are
 * audited too. Uploads of one LA run one at a time. An LA without both phone numbers cannot publish:
 * a flag must give the clinician a number that answers; nor can a suspended LA, nor, with
 * LA_REGISTRATION=required, one no operator registered.
 */
export function createPublishBatch(deps: {
  uploads: UploadStore;
  organisations: OrganisationStore;
  registry: LaRegistryStore;
  /** LA_REGISTRATION. */
  registration: RegistrationMode;
  clock: Clock;
  validateRecord: RecordValidator;
  verifyDemographics?: DemographicsVerifier;
  /** Refused records listed in an acknowledgement (ACK_MAX_LISTED). */
  ackMaxListed: number;
}) {
  return async function publishBatch(identity: Identity, source: BatchSource, requestId: string): Promise<PublishOutcome> {
    const receivedAt = deps.clock.now();
    const audit = (outcome: AuditEntry['outcome'], detail: Record<string, unknown>) => uploadAudit(identity, receivedAt, requestId, outcome, detail);
    const today = londonDateOf(receivedAt);
    const uploadId = randomUUID();
    // Refused before the body is read and before any slot is held: audited, and no sequence number used.
    const refuseUnread = async (error: AppError, why: Record<string, unknown> = {}): Promise<never> => {
      const [outcome, detail] = refusalAudit(error, source.sequenceNumber()) ?? ['invalid', {}];
      await deps.uploads.recordAudit(audit(outcome, { ...detail, ...why }));
      throw error;
    };
    const standing = standingRefusal(await deps.registry.standingOf(identity.org), deps.registration);
    if (standing) return refuseUnread(standingRefused(standing), { reason: standing });
    const missing = missingContact(await deps.organisations.get(identity.org));
    if (missing.length) return refuseUnread(contactMissing(missing), { reason: LA_CONTACT_MISSING, missing });
    const session = await deps.uploads.open(identity.org, uploadId);
    if (!session) return refuseUnread(uploadInProgress());
    try {
      const last = await session.lastSequenceNumber();
      let checked = false;
      const replayIfResent = async (): Promise<Acknowledgement | undefined> => {
        const sequenceNumber = source.sequenceNumber();
        if (checked || sequenceNumber === undefined) return undefined;
        checked = true;
        return earlierBatch(session, sequenceNumber, last);
      };
      const tally = createRefusalTally(deps.ackMaxListed);
      // `nhsNumber`: the record's own when it is a valid one, for the LA's refusals worklist.
      const reject = async (rejection: RecordRejection, nhsNumber?: string | null) => {
        tally.add(rejection);
        await session.refuse(rejection, nhsNumber);
      };
      let staged = 0;
      const staging = createStaging(
        { stage: (index, plan, verifiedAt) => (staged++, session.stage(index, plan, verifiedAt)) }, reject, deps.verifyDemographics, () => deps.clock.now(),
      );
      let index = 0;
      let replay = await replayIfResent();
      for await (const raw of replay ? [] : source.records) {
        if ((replay = await replayIfResent())) break;
        if (!raw.ok) {
          await reject({ index, result: RECORD_RESULT.failure, detail: { code: raw.code ?? 'UNREADABLE', field: '(record)', message: raw.message } });
        } else {
          const check = deps.validateRecord(raw.value, identity.org, today, raw.keys);
          if (check.ok) await staging.add(index, check.plan);
          else await reject({ index, result: check.result, detail: check.detail }, worklistKeyOf(raw.value, check.detail.field));
        }
        index++;
      }
      replay ??= await replayIfResent();
      if (replay) {
        await session.abort(audit('ok', { sequenceNumber: replay.sequenceNumber, result: replay.result, uploadId: replay.uploadId, replayed: true }));
        return { replayed: true, acknowledgement: replay };
      }
      const sequenceNumber = source.sequenceNumber();
      if (sequenceNumber === undefined) throw invalidRequest([{ diagnostics: 'sequenceNumber is required', expression: ['sequenceNumber'] }], 'required');
      await staging.flush();
      for (const { index: at, fields } of await session.withdrawConflicting()) {
        staged--;
        await reject({ index: at, result: RECORD_RESULT.failure, detail: identityConflict(fields) });
      }
      const { listed, counts } = tally.summary();
      const acknowledgement: Acknowledgement = {
        uploadId,
        sequenceNumber,
        result: batchResultOf(index, staged),
        processed: index,
        loaded: staged,
        rejected: tally.total(),
        receivedAt: receivedAt.toISOString(),
        records: listed,
        refusalCounts: counts,
      };
      const { result, processed, rejected } = acknowledgement;
      const outcome = await session.commit(acknowledgement, audit('ok', { sequenceNumber, result, uploadId, processed, loaded: staged, rejected }));
      if (!outcome.committed && 'suspended' in outcome) throw standingRefused(LA_SUSPENDED);
      if (!outcome.committed) {
        // Another batch of the LA committed while this one was read (its slot had lapsed): the same rules as at the start.
        const earlier = await earlierBatch(session, sequenceNumber, outcome.lastSequenceNumber);
        await session.abort(audit('ok', { sequenceNumber, result: earlier?.result ?? null, uploadId: earlier?.uploadId ?? null, replayed: true }));
        return { replayed: true, acknowledgement: earlier as Acknowledgement };
      }
      return { replayed: false, acknowledgement };
    } catch (error) {
      const refused = refusalAudit(error, source.sequenceNumber());
      // The refusal's own audit failing must not hide why the batch was refused.
      await session.abort(refused && audit(...refused)).catch(() => undefined);
      throw error;
    }
  };
}
