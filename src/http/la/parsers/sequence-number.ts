import { invalidRequest, preconditionFailed } from '../../../domain/app-error.ts';

/** A batch sequence number: a positive whole number. */
export function parseSequenceNumber(text: string, field: string): number {
  const value = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1)) {
    const diagnostics = `${field} must be a positive whole number`;
    throw field === 'sequenceNumber' ? invalidRequest([{ diagnostics, expression: [field] }]) : preconditionFailed(diagnostics, field);
  }
  return value;
}

/** X-Sequence-Number, when sent. */
export function headerSequenceNumber(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseSequenceNumber(value.trim(), 'X-Sequence-Number');
}
