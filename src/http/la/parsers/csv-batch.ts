import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { AppError, invalidRequest } from '../../../domain/app-error.ts';
import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';
import type { ReaderOptions } from './record-limit.ts';

const COLUMNS = new Set([
  'nhsNumber', 'familyName', 'givenNames', 'birthDate', 'postcode', 'addressLines',
  'planType', 'lacLegalStatus', 'startDate', 'endDate', 'deleteDate', 'localId', 'teamCode',
]);
const REQUIRED = ['nhsNumber', 'familyName', 'givenNames', 'birthDate', 'planType', 'startDate'];
/** Address lines share one cell, separated by this character. */
export const ADDRESS_SEPARATOR = '|';

const badHeader = (diagnostics: string, column: string) =>
  invalidRequest([{ diagnostics: `CPF01 unreadable batch: ${diagnostics}`, expression: [column] }], 'structure');

/**
 * The header must name known columns, each once. An unknown cell is named by its position, never
 * repeated: a file sent without its header row has a child's NHS number, name and birth date there.
 */
function checkHeader(header: string[]): void {
  const seen = new Set<string>();
  for (const [i, column] of header.entries()) {
    if (!COLUMNS.has(column)) throw badHeader(`column ${i + 1} of the header row is not a known column (is the header row missing?)`, `column ${i + 1}`);
    if (seen.has(column)) throw badHeader(`column ${column} is given more than once in the header row`, column);
    seen.add(column);
  }
  for (const column of REQUIRED) if (!seen.has(column)) throw badHeader(`missing column ${column}`, column);
}

function toRecord(header: string[], cells: string[]): RawRecord {
  if (cells.length !== header.length) return { ok: false, message: `row has ${cells.length} cells; the header has ${header.length}` };
  const record: Record<string, unknown> = {};
  header.forEach((column, i) => {
    const cell = cells[i] as string;
    if (cell === '') return;
    record[column] = column === 'addressLines' ? cell.split(ADDRESS_SEPARATOR).map((l) => l.trim()).filter(Boolean) : cell;
  });
  return { ok: true, value: record };
}

/**
 * Streams a CSV with a header row: spreadsheet exports (BOM, CRLF, quoted fields) read as they are.
 * A row over the record limit ends the batch (CPF01): past an unbalanced quote, where the next row
 * starts cannot be known.
 */
export function readCsvBatch(text: AsyncIterable<string>, sequenceNumber: number | undefined, options: ReaderOptions): BatchSource {
  async function* records(): AsyncGenerator<RawRecord> {
    // Every line end is named: left to guess, the parser keeps the first kind it meets and glues rows
    // that end otherwise onto their neighbours (a file edited in two tools mixes CRLF and LF).
    const source = Readable.from(text);
    const rows = parse({
      bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, max_record_size: options.maxRecordBytes,
      record_delimiter: ['\r\n', '\n', '\r'],
    });
    // pipe() does not pass a source's error on: the body's own refusals (413, not UTF-8) end the rows with it.
    source.on('error', (error) => rows.destroy(error));
    source.pipe(rows);
    let header: string[] | undefined;
    try {
      for await (const row of rows as AsyncIterable<string[]>) {
        if (!header) {
          header = row;
          checkHeader(header);
          continue;
        }
        yield toRecord(header, row);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if ((error as { code?: string }).code === 'CSV_MAX_RECORD_SIZE')
        throw badHeader(`a row is longer than UPLOAD_MAX_RECORD_BYTES (${options.maxRecordBytes}); nothing of the batch was loaded`, 'body');
      throw badHeader('CSV is malformed', 'body');
    } finally {
      rows.destroy();
      source.destroy();
    }
    if (!header) throw badHeader('CSV has no header row', 'body');
  }
  return { records: records(), sequenceNumber: () => sequenceNumber };
}
