import { randomUUID } from 'node:crypto';
import { batchResultOf, RECORD_RESULT, type Acknowledgement, type RecordRejection } from '../domain/acknowledgement.ts';
import { AppError, duplicateRejected, invalidRequest } from '../domain/app-error.ts';
import { londonDateOf } from '../domain/dates.ts';
import type { Identity } from '../domain/identity.ts';
import type { AuditEntry, Clock, LastBatch, UploadStore } from '../ports.ts';
import type { RecordValidator } from './record-validator.ts';
import { createStaging } from './verified-staging.ts';
import type { DemographicsVerifier } from './verify-demographics.ts';

/** One record as read off the wire: parsed, or unreadable with a reason. */
export type RawRecord = { ok: true; value: unknown } | { ok: false; message: string };

/** A batch being read: its records, and its sequence number once it has been seen (header or body). */
export type BatchSource = { records: AsyncIterable<RawRecord>; sequenceNumber(): number | undefined };

export type PublishOutcome = { replayed: boolean; acknowledgement: Acknowledgement };

/** Replays the stored acknowledgement for a resent sequence number, refuses one that goes backwards. */
function checkSequence(sequenceNumber: number, last: LastBatch): Acknowledgement | undefined {
  if (!last) return undefined;
  if (sequenceNumber === last.sequenceNumber) return last.acknowledgement;
  if (sequenceNumber < last.sequenceNumber)
    throw duplicateRejected(`sequenceNumber ${sequenceNumber} is not after the last accepted batch (${last.sequenceNumber})`);
  return undefined;
}

/** The audit row of one batch: counts and codes only, never a record's contents. */
function uploadAudit(identity: Identity, at: Date, requestId: string, outcome: AuditEntry['outcome'], detail: Record<string, unknown>): AuditEntry {
  return { at, action: 'upload', outcome, identity, nhsNumber: null, unscheduled: null, requestId, detail };
}

/** A refused batch, audited by its error's codes; anything else (a 500) is left to the error handler. */
function refusalAudit(error: unknown, sequenceNumber: number | undefined): [AuditEntry['outcome'], Record<string, unknown>] | undefined {
  if (!(error instanceof AppError)) return undefined;
  const result = /\b(CPF0[1-5])\b/.exec(error.message)?.[1] ?? null;
  return [error.status === 503 ? 'unavailable' : 'invalid', { sequenceNumber: sequenceNumber ?? null, result, code: error.spineCode, status: error.status }];
}

/**
 * Publishes an LA's batch: every record is checked (and, with `verifyDemographics`, cross-checked on PDS),
 * valid ones load in one transaction with the acknowledgement and the batch's audit row. Replays and
 * refusals, which load nothing, are audited too.
 */
export function createPublishBatch(deps: { uploads: UploadStore; clock: Clock; validateRecord: RecordValidator; verifyDemographics?: DemographicsVerifier }) {
  return async function publishBatch(identity: Identity, source: BatchSource, requestId: string): Promise<PublishOutcome> {
    const receivedAt = deps.clock.now();
    const audit = (outcome: AuditEntry['outcome'], detail: Record<string, unknown>) => uploadAudit(identity, receivedAt, requestId, outcome, detail);
    const today = londonDateOf(receivedAt);
    const session = await deps.uploads.open(identity.org, identity.orgName);
    try {
      const last = await session.lastBatch();
      let checked = false;
      const replayIfResent = (): Acknowledgement | undefined => {
        const sequenceNumber = source.sequenceNumber();
        if (checked || sequenceNumber === undefined) return undefined;
        checked = true;
        return checkSequence(sequenceNumber, last);
      };
      const rejections: RecordRejection[] = [];
      const staging = createStaging(session, rejections, deps.verifyDemographics);
      let index = 0;
      let replay = replayIfResent();
      for await (const raw of replay ? [] : source.records) {
        if ((replay = replayIfResent())) break;
        if (!raw.ok) {
          rejections.push({ index, result: RECORD_RESULT.failure, detail: { code: 'UNREADABLE', field: '(record)', message: raw.message } });
        } else {
          const check = deps.validateRecord(raw.value, identity.org, today);
          if (check.ok) await staging.add(index, check.plan);
          else rejections.push({ index, result: check.result, detail: check.detail });
        }
        index++;
      }
      replay ??= replayIfResent();
      if (replay) {
        await session.abort(audit('ok', { sequenceNumber: replay.sequenceNumber, result: replay.result, uploadId: replay.uploadId, replayed: true }));
        return { replayed: true, acknowledgement: replay };
      }
      const sequenceNumber = source.sequenceNumber();
      if (sequenceNumber === undefined) throw invalidRequest([{ diagnostics: 'sequenceNumber is required', expression: ['sequenceNumber'] }], 'required');
      await staging.flush();
      const loaded = await session.apply();
      const acknowledgement: Acknowledgement = {
        uploadId: randomUUID(),
        sequenceNumber,
        result: batchResultOf(index, loaded),
        processed: index,
        loaded,
        rejected: rejections.length,
        receivedAt: receivedAt.toISOString(),
        // PDS answers come back per chunk, after later records' own failures: list them in record order.
        records: rejections.sort((a, b) => a.index - b.index),
      };
      const { uploadId, result, processed, rejected } = acknowledgement;
      await session.commit(acknowledgement, audit('ok', { sequenceNumber, result, uploadId, processed, loaded, rejected }));
      return { replayed: false, acknowledgement };
    } catch (error) {
      const refused = refusalAudit(error, source.sequenceNumber());
      // The refusal's own audit failing must not hide why the batch was refused.
      await session.abort(refused && audit(...refused)).catch(() => undefined);
      throw error;
    }
  };
}
