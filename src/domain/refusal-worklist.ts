import type { RecordDetail, RecordResult } from './acknowledgement.ts';
import { checkNhsNumber } from './nhs-number.ts';

/**
 * One of an LA's children whose latest record was refused and has not loaded since (README, The
 * refusals worklist): the latest refusal, when the NHS number was first and last refused (the times
 * of the batches), and where the last refused record was (batch and index).
 */
export type OutstandingRefusal = {
  nhsNumber: string;
  result: RecordResult;
  detail: RecordDetail;
  firstSeenAt: string;
  lastSeenAt: string;
  lastUploadId: string;
  lastIndex: number;
};

/**
 * The NHS number a refused record is kept under in the worklist: its own, when that is a valid NHS
 * number (spaces and dashes removed) and not the field the refusal names (given twice, say, it cannot
 * be told which one was meant); null otherwise, and such a record stays visible only in its batch's
 * refusals. No other field is read: the worklist holds nothing else of the record.
 */
export function worklistKeyOf(raw: unknown, refusedField: string): string | null {
  if (refusedField === 'nhsNumber' || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const nhsNumber = (raw as { nhsNumber?: unknown }).nhsNumber;
  if (typeof nhsNumber !== 'string') return null;
  const checked = checkNhsNumber(nhsNumber);
  return checked.ok ? checked.value : null;
}
