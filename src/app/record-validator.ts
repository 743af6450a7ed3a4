import type { ErrorObject } from 'ajv';
import { RECORD_RESULT } from '../domain/acknowledgement.ts';
import type { IsoDate } from '../domain/dates.ts';
import { checkUploadRecord, type RecordCheck, type UploadRecord } from '../domain/plan-record.ts';
import { compileSchema, createAjv, fieldOf } from '../schemas.ts';

const CODES: Record<string, string> = {
  required: 'REQUIRED',
  additionalProperties: 'UNKNOWN_FIELD',
  format: 'INVALID_FORMAT',
  pattern: 'INVALID_FORMAT',
  enum: 'INVALID_VALUE',
  type: 'INVALID_TYPE',
  maxLength: 'TOO_LONG',
  minLength: 'EMPTY',
  maxItems: 'TOO_MANY',
};

function messageOf(error: ErrorObject, field: string): string {
  const params = error.params as { allowedValues?: unknown[] };
  if (error.keyword === 'additionalProperties') return `${field} is not a known field`;
  if (error.keyword === 'required') return `${field} is required`;
  if (error.keyword === 'enum' && params.allowedValues) return `${field} must be one of ${params.allowedValues.join(', ')}`;
  // ajv's own wording names rules (formats, lengths, patterns), never the value itself.
  return `${field} ${error.message ?? 'is invalid'}`;
}

/**
 * A field name as the acknowledgement may repeat and store it. An unknown member's name is the
 * caller's own text: it is cut short, and a NUL or an unpaired surrogate (which PostgreSQL's jsonb
 * refuses) becomes U+FFFD.
 */
const safeFieldName = (name: string) => name.slice(0, 40).toWellFormed().replaceAll('\u0000', '\ufffd');

/** Checks one raw record: the upload-record schema first, then the domain rules. */
export type RecordValidator = (raw: unknown, laCode: string, today: IsoDate) => RecordCheck;

/** Compiles the upload-record schema once and returns the validator. */
export function createRecordValidator(): RecordValidator {
  const validate = compileSchema<UploadRecord>(createAjv(), 'upload-record.schema.json');
  return (raw, laCode, today) => {
    if (!validate(raw)) {
      const error = (validate.errors ?? [])[0] as ErrorObject;
      const field = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? safeFieldName(fieldOf(error)) : '(record)';
      return {
        ok: false,
        result: RECORD_RESULT.failure,
        detail: { code: field === '(record)' ? 'NOT_AN_OBJECT' : (CODES[error.keyword] ?? 'INVALID'), field, message: field === '(record)' ? 'record must be a JSON object' : messageOf(error, field) },
      };
    }
    return checkUploadRecord(raw, laCode, today);
  };
}
