import { none } from 'stream-chain/defs.js';
import { jsonParser } from 'stream-json/parser.js';
import Assembler from 'stream-json/assembler.js';
import { AppError, invalidRequest } from '../../../domain/app-error.ts';
import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';
import { parseSequenceNumber } from './sequence-number.ts';
import { tooLong, type ReaderOptions } from './record-limit.ts';

type Token = { name: string; value?: unknown };
const OPENERS = new Set(['startObject', 'startArray']);
const CLOSERS = new Set(['endObject', 'endArray']);
const PACKED = { endString: 'stringValue', endKey: 'keyValue', endNumber: 'numberValue' } as const;
// Envelope keys and numbers are short; anything longer is refused before it is read further.
const MAX_ENVELOPE_TEXT = 256;
const unreadable = (diagnostics: string, field = 'body') =>
  invalidRequest([{ diagnostics: `CPF01 unreadable batch: ${diagnostics}`, expression: [field] }], 'structure');

/**
 * One record (an element of `records`) being read: assembled while it is small enough, only counted
 * past the limit. `keys` are its top-level member names in the order sent, repeats included (the
 * assembler keeps only the last of a repeated member).
 */
type RecordInProgress = { assembler?: Assembler; bytes: number; nesting: number; keys: string[] };

/**
 * Streams `{ "sequenceNumber": n, "records": [ … ] }` one record at a time, so a batch of any size
 * is read in bounded memory. The parser hands strings over in chunks: a record (and so any string in
 * it) over `maxRecordBytes` is counted to its end without being held, and refused as TOO_LONG. The
 * envelope is checked as strictly as a schema would.
 */
export function readJsonBatch(text: AsyncIterable<string>, headerSequence: number | undefined, options: ReaderOptions): BatchSource {
  const max = options.maxRecordBytes;
  let sequenceNumber = headerSequence;
  let depth = 0;
  let key: string | undefined;
  // The envelope's member names so far: a repeated one would let the body say two things at once.
  const envelopeKeys = new Set<string>();
  let envelopeMembers = 0;
  let sawRecords = false;
  let record: RecordInProgress | undefined;
  // The string, key or number whose chunks are arriving; undefined once it is too long to keep.
  let pieces: string | undefined;

  /** Counts a token towards the record being read; past the limit, stops assembling it. */
  const count = (bytes: number) => {
    if (!record) return;
    record.bytes += bytes;
    if (record.bytes > max) record.assembler = undefined;
  };

  /** Joins streamed chunks into the packed tokens the envelope logic and the assembler expect. */
  const pack = (t: Token): Token | undefined => {
    if (t.name === 'startString' || t.name === 'startKey' || t.name === 'startNumber') {
      pieces = '';
      count(1);
      return undefined;
    }
    if (t.name === 'stringChunk' || t.name === 'numberChunk') {
      const chunk = String(t.value);
      count(Buffer.byteLength(chunk));
      if (pieces === undefined) return undefined;
      if (!record && pieces.length + chunk.length > MAX_ENVELOPE_TEXT) throw invalidRequest([{ diagnostics: 'the batch envelope holds an over-long key or value', expression: [key ?? 'body'] }]);
      pieces = record && record.bytes > max ? undefined : pieces + chunk;
      return undefined;
    }
    const packed = PACKED[t.name as keyof typeof PACKED];
    if (packed) {
      const value = pieces;
      pieces = undefined;
      return { name: packed, value: value ?? '' };
    }
    count(1);
    return t;
  };

  /** A token inside `records`: part of a record being assembled or skipped, or a whole scalar record. */
  const onRecordToken = (t: Token): RawRecord | typeof none => {
    if (!record) return (depth = 1), (key = undefined), none;
    if (OPENERS.has(t.name)) record.nesting++;
    if (CLOSERS.has(t.name)) record.nesting--;
    if (t.name === 'keyValue' && record.nesting === 1 && record.assembler) record.keys.push(String(t.value));
    record.assembler?.consume(t as never);
    if (record.nesting > 0) return none;
    const done = record;
    record = undefined;
    return done.assembler ? { ok: true, value: done.assembler.current, keys: done.keys } : tooLong(max);
  };

  const onEnvelopeToken = (t: Token): typeof none => {
    if (depth === 0) {
      if (t.name !== 'startObject') throw unreadable('body must be a JSON object');
      return (depth = 1), none;
    }
    if (t.name === 'endObject') return (depth = 0), none;
    if (t.name === 'keyValue') {
      key = String(t.value);
      envelopeMembers++;
      // Named by position: an unknown key is the caller's text, and may be anything, a child's name included.
      if (key !== 'sequenceNumber' && key !== 'records')
        throw invalidRequest([{ diagnostics: `key ${envelopeMembers} of the batch envelope is not sequenceNumber or records`, expression: ['body'] }]);
      if (envelopeKeys.has(key)) throw unreadable(`the batch envelope gives ${key} more than once; nothing of the batch was loaded`, key);
      envelopeKeys.add(key);
      return none;
    }
    if (key === 'records' && t.name === 'startArray') return (depth = 2), (sawRecords = true), none;
    if (key === 'sequenceNumber' && t.name === 'numberValue') {
      const fromBody = parseSequenceNumber(String(t.value), 'sequenceNumber');
      if (headerSequence !== undefined && fromBody !== headerSequence)
        throw invalidRequest([{ diagnostics: 'sequenceNumber differs from X-Sequence-Number', expression: ['sequenceNumber'] }]);
      sequenceNumber = fromBody;
      return none;
    }
    throw invalidRequest([{ diagnostics: key === 'records' ? 'records must be an array' : `${key} must be a positive integer`, expression: [key ?? 'body'] }]);
  };

  const onToken = (raw: Token): RawRecord | typeof none => {
    // A string where the envelope allows none is refused before its chunks are read.
    if (depth < 2 && raw.name === 'startString') onEnvelopeToken({ name: 'stringValue' });
    // Any element of `records`, an object or a bare scalar alike, is a record from its first token.
    if (depth === 2 && !record && raw.name !== 'endArray') record = { assembler: new Assembler(), bytes: 0, nesting: 0, keys: [] };
    const t = pack(raw);
    if (!t) return none;
    return depth === 2 ? onRecordToken(t) : onEnvelopeToken(t);
  };

  // The parser turns each text chunk into an array of tokens: a plain loop over them, not a stream stage per token.
  const parse = jsonParser({ packValues: false, streamValues: true }) as (chunk: string | typeof none) => { values: Token[] } | typeof none;
  function* recordsOf(output: ReturnType<typeof parse>): Generator<RawRecord> {
    if (output === none) return;
    for (const token of output.values) {
      const record = onToken(token);
      if (record !== none) yield record;
    }
  }

  async function* records(): AsyncGenerator<RawRecord> {
    try {
      for await (const chunk of text) yield* recordsOf(parse(chunk));
      yield* recordsOf(parse(none));
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw unreadable('body is not valid JSON');
    }
    if (!sawRecords) throw invalidRequest([{ diagnostics: 'records is required', expression: ['records'] }], 'required');
  }

  return { records: records(), sequenceNumber: () => sequenceNumber };
}
