import { randomUUID } from 'node:crypto';
import { batchResultOf, RECORD_RESULT, type Acknowledgement, type RecordRejection } from '../domain/acknowledgement.ts';
import { duplicateRejected, invalidRequest } from '../domain/app-error.ts';
import { londonDateOf } from '../domain/dates.ts';
import type { Identity } from '../domain/identity.ts';
import type { Clock, LastBatch, UploadStore } from '../ports.ts';
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

/**
 * Publishes an LA's batch: every record is checked (and, with `verifyDemographics`, cross-checked on PDS),
 * valid ones load in one transaction with the acknowledgement.
 */
export function createPublishBatch(deps: { uploads: UploadStore; clock: Clock; validateRecord: RecordValidator; verifyDemographics?: DemographicsVerifier }) {
  return async function publishBatch(identity: Identity, source: BatchSource): Promise<PublishOutcome> {
    const receivedAt = deps.clock.now();
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
        await session.abort();
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
      await session.commit(acknowledgement, identity.sub);
      return { replayed: false, acknowledgement };
    } catch (error) {
      await session.abort();
      throw error;
    }
  };
}
