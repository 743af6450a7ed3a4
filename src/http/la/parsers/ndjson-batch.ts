import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';

/**
 * Lines split on CR, LF or CRLF only. node:readline also breaks at U+2028 and U+2029, which JSON
 * allows unescaped inside strings, and would cut a valid record in two.
 */
async function* linesOf(text: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of text) {
    // A long line arrives over many chunks: join them cheaply and split only once a break arrives.
    if (!/[\r\n]/.test(chunk)) {
      rest += chunk;
      continue;
    }
    const lines = `${rest}${chunk}`.split(/\r\n|\r|\n/);
    rest = lines.pop() ?? '';
    yield* lines;
  }
  if (rest) yield rest;
}

/** Streams one JSON record per line; a line that is not JSON is that record's failure, not the batch's. */
export function readNdjsonBatch(text: AsyncIterable<string>, sequenceNumber: number | undefined): BatchSource {
  async function* records(): AsyncGenerator<RawRecord> {
    let first = true;
    for await (const raw of linesOf(text)) {
      // A byte-order mark at the start of the body (as the JSON and CSV readers also accept) is not data.
      const line = first ? raw.replace(/^\uFEFF/, '') : raw;
      first = false;
      if (line.trim() === '') continue;
      try {
        yield { ok: true, value: JSON.parse(line) as unknown };
      } catch {
        yield { ok: false, message: 'line is not valid JSON' };
      }
    }
  }
  return { records: records(), sequenceNumber: () => sequenceNumber };
}
