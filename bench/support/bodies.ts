import { ndjsonChunks, type SyntheticRecord } from '../../src/cli/synthetic-register.ts';

/** The three upload forms the service accepts. */
export type UploadForm = 'ndjson' | 'json' | 'csv';

export const CONTENT_TYPES: Record<UploadForm, string> = { ndjson: 'application/x-ndjson', json: 'application/json', csv: 'text/csv' };

const CHUNK = 64 * 1024;

/** Joins lines into ~64 KiB chunks: one write per record would measure the client, not the service. */
function* chunked(lines: Iterable<string>): Generator<Buffer> {
  let text = '';
  for (const line of lines) {
    text += line;
    if (text.length >= CHUNK) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}

function* jsonLines(records: Iterable<SyntheticRecord>, sequenceNumber: number): Generator<string> {
  yield `{"sequenceNumber":${sequenceNumber},"records":[`;
  let first = true;
  for (const record of records) {
    yield `${first ? '' : ','}${JSON.stringify(record)}`;
    first = false;
  }
  yield ']}';
}

const UPLOAD_COLUMNS = ['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'postcode', 'addressLines', 'planType', 'lacLegalStatus', 'startDate', 'endDate', 'localId'] as const;
const cell = (value: string | undefined): string => (value === undefined ? '' : /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

function* csvLines(records: Iterable<SyntheticRecord>): Generator<string> {
  yield `${UPLOAD_COLUMNS.join(',')}\r\n`;
  for (const r of records) {
    const row = UPLOAD_COLUMNS.map((c) => cell(c === 'addressLines' ? r.addressLines?.join('|') : r[c]));
    yield `${row.join(',')}\r\n`;
  }
}

/** A request body in the given form, generated as it is sent. */
export function uploadBody(form: UploadForm, records: Iterable<SyntheticRecord>, sequenceNumber: number): Iterable<Buffer> {
  if (form === 'ndjson') return ndjsonChunks(records, CHUNK);
  return chunked(form === 'json' ? jsonLines(records, sequenceNumber) : csvLines(records));
}

/** The plans table's columns, in the order copyCsv writes them. */
export const PLAN_COLUMNS = 'la_code, nhs_number, plan_type, start_date, end_date, lac_legal_status, family_name, given_names, birth_date, postcode, address_lines, local_id';

const quoted = (value: string | undefined): string => (value === undefined ? '' : `"${value.replaceAll('"', '""')}"`);
const pgArray = (lines: string[] = []): string => `{${lines.map((l) => `"${l.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

/** Rows for `COPY plans (PLAN_COLUMNS) FROM STDIN (FORMAT csv)`: what the service would store. */
export function copyCsv(laCode: string, records: Iterable<SyntheticRecord>): Iterable<Buffer> {
  function* lines(): Generator<string> {
    for (const r of records) {
      yield [
        laCode, r.nhsNumber, r.planType, r.startDate, r.endDate ?? '', r.lacLegalStatus ?? '', quoted(r.familyName), quoted(r.givenNames),
        r.birthDate, quoted(r.postcode), quoted(pgArray(r.addressLines)), quoted(r.localId),
      ].join(',') + '\n';
    }
  }
  return chunked(lines());
}
