import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';

/** Streams one JSON record per line; a line that is not JSON is that record's failure, not the batch's. */
export function readNdjsonBatch(text: AsyncIterable<string>, sequenceNumber: number | undefined): BatchSource {
  async function* records(): AsyncGenerator<RawRecord> {
    const lines = createInterface({ input: Readable.from(text), crlfDelay: Infinity });
    for await (const line of lines) {
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
