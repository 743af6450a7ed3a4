import { Readable } from 'node:stream';
import chain from 'stream-chain';
import { none } from 'stream-chain/defs.js';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
import { AppError, invalidRequest } from '../../../domain/app-error.ts';
import type { BatchSource, RawRecord } from '../../../app/publish-batch.ts';
import { parseSequenceNumber } from './sequence-number.ts';

type Token = { name: string; value?: unknown };
const SCALARS = new Set(['stringValue', 'numberValue', 'nullValue', 'trueValue', 'falseValue']);
const scalarOf = (t: Token): unknown => (t.name === 'numberValue' ? Number(t.value) : t.value);
const unreadable = (diagnostics: string, field = 'body') =>
  invalidRequest([{ diagnostics: `CPF01 unreadable batch: ${diagnostics}`, expression: [field] }], 'structure');

/**
 * Streams `{ "sequenceNumber": n, "records": [ … ] }` one record at a time, so a batch of any size
 * is read in bounded memory. The envelope is checked as strictly as a schema would.
 */
export function readJsonBatch(text: AsyncIterable<string>, headerSequence: number | undefined): BatchSource {
  let sequenceNumber = headerSequence;
  let depth = 0;
  let key: string | undefined;
  let sawRecords = false;
  let assembler: Assembler | undefined;

  const onToken = (t: Token): RawRecord | typeof none => {
    if (assembler) {
      assembler.consume(t as never);
      if (!assembler.done) return none;
      const value = assembler.current;
      assembler = undefined;
      return { ok: true, value };
    }
    if (depth === 2) {
      if (t.name === 'endArray') return (depth = 1), (key = undefined), none;
      if (SCALARS.has(t.name)) return { ok: true, value: scalarOf(t) };
      assembler = new Assembler();
      assembler.consume(t as never);
      return none;
    }
    if (depth === 0) {
      if (t.name !== 'startObject') throw unreadable('body must be a JSON object');
      return (depth = 1), none;
    }
    // depth 1: the envelope's own fields.
    if (t.name === 'endObject') return (depth = 0), none;
    if (t.name === 'keyValue') {
      key = String(t.value);
      if (key !== 'sequenceNumber' && key !== 'records') throw invalidRequest([{ diagnostics: `unknown field ${key.slice(0, 40)}`, expression: [key.slice(0, 40)] }]);
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

  async function* records(): AsyncGenerator<RawRecord> {
    const pipeline = chain([Readable.from(text), parser({ streamValues: false }), onToken]);
    try {
      for await (const record of pipeline as AsyncIterable<RawRecord>) yield record;
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw unreadable('body is not valid JSON');
    } finally {
      pipeline.destroy();
    }
    if (!sawRecords) throw invalidRequest([{ diagnostics: 'records is required', expression: ['records'] }], 'required');
  }

  return { records: records(), sequenceNumber: () => sequenceNumber };
}
