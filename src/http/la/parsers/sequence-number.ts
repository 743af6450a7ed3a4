import { invalidRequest, preconditionFailed } from '../../../domain/app-error.ts';

/**
 * The largest sequence number: 2^53 − 1, the largest whole number JSON readers agree on exactly
 * (a JavaScript number, and so JSON.parse, cannot tell 2^53 from 2^53 + 1). It leaves room for
 * numbering batches by time (yyyymmddhhmmss has 14 digits); an LA that reaches it by mistake asks
 * the service desk to restart its numbering (README, Uploads: sequence numbers).
 */
export const MAX_SEQUENCE_NUMBER = Number.MAX_SAFE_INTEGER;

/** A batch sequence number: a whole number from 1 to MAX_SEQUENCE_NUMBER. */
export function parseSequenceNumber(text: string, field: string): number {
  const value = /^\d{1,20}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_SEQUENCE_NUMBER)) {
    const diagnostics = `${field} must be a whole number from 1 to ${MAX_SEQUENCE_NUMBER}`;
    throw field === 'sequenceNumber' ? invalidRequest([{ diagnostics, expression: [field] }]) : preconditionFailed(diagnostics, field);
  }
  return value;
}

/** X-Sequence-Number, when sent. */
export function headerSequenceNumber(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseSequenceNumber(value.trim(), 'X-Sequence-Number');
}
