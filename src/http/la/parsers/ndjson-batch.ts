import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';
import { tooLong, type ReaderOptions } from './record-limit.ts';
import { topLevelKeys } from './top-level-keys.ts';

const OVERSIZED = Symbol('oversized line');

/**
 * Lines split on CR, LF or CRLF only (node:readline also breaks at U+2028 and U+2029, which JSON
 * allows unescaped inside strings, and would cut a valid record in two). A line longer than
 * `maxBytes` is dropped as it arrives and reported once, so no line is ever held beyond the limit.
 */
async function* linesOf(text: AsyncIterable<string>, maxBytes: number): AsyncGenerator<string | typeof OVERSIZED> {
  let rest = '';
  let restBytes = 0;
  let oversized = false;
  for await (const chunk of text) {
    const parts = chunk.split(/\r\n|\r|\n/);
    const tail = parts.pop() ?? '';
    for (const part of parts) {
      yield oversized || restBytes + Buffer.byteLength(part) > maxBytes ? OVERSIZED : rest + part;
      rest = '';
      restBytes = 0;
      oversized = false;
    }
    if (oversized) continue;
    restBytes += Buffer.byteLength(tail);
    if (restBytes > maxBytes) {
      oversized = true;
      rest = '';
    } else {
      rest += tail;
    }
  }
  if (oversized) yield OVERSIZED;
  else if (rest) yield rest;
}

/** Streams one JSON record per line; a line that is not JSON, or is too long, is that record's failure, not the batch's. */
export function readNdjsonBatch(text: AsyncIterable<string>, sequenceNumber: number | undefined, options: ReaderOptions): BatchSource {
  async function* records(): AsyncGenerator<RawRecord> {
    let first = true;
    for await (const raw of linesOf(text, options.maxRecordBytes)) {
      if (raw === OVERSIZED) {
        first = false;
        yield tooLong(options.maxRecordBytes);
        continue;
      }
      // A byte-order mark at the start of the body (as the JSON and CSV readers also accept) is not data.
      const line = first ? raw.replace(/^\uFEFF/, '') : raw;
      first = false;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        yield { ok: false, message: 'line is not valid JSON' };
        continue;
      }
      yield { ok: true, value, keys: topLevelKeys(line) };
    }
  }
  return { records: records(), sequenceNumber: () => sequenceNumber };
}
