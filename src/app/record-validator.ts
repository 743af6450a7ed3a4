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
  if (error.keyword === 'additionalProperties') return `${field} of the record is not a known field`;
  if (error.keyword === 'required') return `${field} is required`;
  if (error.keyword === 'enum' && params.allowedValues) return `${field} must be one of ${params.allowedValues.join(', ')}`;
  // ajv's own wording names rules (formats, lengths, patterns), never the value itself.
  return `${field} ${error.message ?? 'is invalid'}`;
}

/** Checks one raw record: the upload-record schema first, then the domain rules. `keys`: its top-level member names as sent, in order. */
export type RecordValidator = (raw: unknown, laCode: string, today: IsoDate, keys?: readonly string[]) => RecordCheck;

const refuse = (code: string, field: string, message: string): RecordCheck => ({ ok: false, result: RECORD_RESULT.failure, detail: { code, field, message } });

/**
 * A member given twice, named if it is one of the record's fields and by its position otherwise
 * (README, How refusals name what is wrong). Which of the two a reader keeps differs between
 * parsers; the service will not guess which one the LA meant.
 */
function repeatedMember(keys: readonly string[], known: ReadonlySet<string>): RecordCheck | undefined {
  const seen = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (seen.has(key)) {
      const field = known.has(key) ? key : `key ${i + 1}`;
      return refuse('DUPLICATE_FIELD', field, `${field} repeats a member already given in this record; give each field once`);
    }
    seen.add(key);
  }
  return undefined;
}

/** Compiles the upload-record schema once and returns the validator. */
export function createRecordValidator(): RecordValidator {
  const validate = compileSchema<UploadRecord>(createAjv(), 'upload-record.schema.json');
  const known = new Set(Object.keys((validate.schema as { properties: object }).properties));
  return (raw, laCode, today, keys) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return refuse('NOT_AN_OBJECT', '(record)', 'record must be a JSON object');
    const repeated = keys && repeatedMember(keys, known);
    if (repeated) return repeated;
    if (!validate(raw)) {
      const error = (validate.errors ?? [])[0] as ErrorObject;
      // An unknown member is named by its place, never by its text: the acknowledgement is stored and returned again.
      const field = fieldOf(error, raw, keys);
      return refuse(CODES[error.keyword] ?? 'INVALID', field, messageOf(error, field));
    }
    return checkUploadRecord(raw, laCode, today);
  };
}
