import { Router, type Request } from 'express';
import { invalidRequest, notFound, unsupportedMediaType } from '../../domain/app-error.ts';
import type { Acknowledgement } from '../../domain/acknowledgement.ts';
import type { BatchSource, createPublishBatch } from '../../app/publish-batch.ts';
import type { createListRefusals } from '../../app/list-refusals.ts';
import type { createDryRunBatch } from '../../app/dry-run-batch.ts';
import { readBodyText } from './parsers/read-body.ts';
import { readJsonBatch } from './parsers/json-batch.ts';
import { readNdjsonBatch } from './parsers/ndjson-batch.ts';
import { readCsvBatch } from './parsers/csv-batch.ts';
import { headerSequenceNumber } from './parsers/sequence-number.ts';

const READERS = {
  'application/json': readJsonBatch,
  'application/x-ndjson': readNdjsonBatch,
  'application/ndjson': readNdjsonBatch,
  'text/csv': readCsvBatch,
} as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_LIMIT = 1000;

function sourceOf(req: Request, limits: UploadLimits): BatchSource {
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const reader = READERS[type as keyof typeof READERS];
  if (!reader) throw unsupportedMediaType('Content-Type must be application/json, application/x-ndjson or text/csv');
  return reader(readBodyText(req, limits.maxBytes), headerSequenceNumber(req.get('x-sequence-number')), { maxRecordBytes: limits.maxRecordBytes });
}

/** Where the refused records an acknowledgement does not list can be paged; null when it lists them all. */
const refusalsPath = (uploadId: string, after: number | null) => (after === null ? null : `/la/v1/uploads/${uploadId}/refusals?after=${after}`);

function withNext(ack: Acknowledgement): Acknowledgement {
  const listedAll = ack.records.length >= ack.rejected;
  return { ...ack, recordsNext: refusalsPath(ack.uploadId, listedAll ? null : (ack.records.at(-1)?.index ?? -1)) };
}

function wholeNumber(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw invalidRequest([{ diagnostics: `${name} must be a whole number from ${min} to ${max}`, expression: [name] }]);
  return n;
}

export type UploadLimits = { maxBytes: number; maxRecordBytes: number };

/** `dryRun=true`: check the batch as an upload would, keeping nothing; absent or false: publish it. */
function dryRunOf(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw invalidRequest([{ diagnostics: 'dryRun must be true or false', expression: ['dryRun'] }]);
}

/**
 * POST /la/v1/uploads: a batch in JSON, NDJSON or CSV, streamed (with dryRun=true, only checked: 200 and what it
 * would be answered); GET /la/v1/uploads/{uploadId}/refusals: its refused records, paged.
 */
export function uploadsRouter(deps: {
  publishBatch: ReturnType<typeof createPublishBatch>;
  dryRunBatch: ReturnType<typeof createDryRunBatch>;
  listRefusals: ReturnType<typeof createListRefusals>;
  limits: UploadLimits;
}): Router {
  const router = Router({ caseSensitive: true });
  router.post('/uploads', async (req, res) => {
    if (dryRunOf(req.query.dryRun)) {
      const { replayed, acknowledgement } = await deps.dryRunBatch(req.identity, sourceOf(req, deps.limits), req.requestId);
      if (replayed) res.set('X-Replayed', 'true');
      // A resent number's stored acknowledgement keeps its pages; a dry run has none.
      res.status(200).json(replayed ? withNext(acknowledgement) : { ...acknowledgement, recordsNext: null });
      return;
    }
    const { replayed, acknowledgement } = await deps.publishBatch(req.identity, sourceOf(req, deps.limits), req.requestId);
    if (replayed) res.set('X-Replayed', 'true');
    res.status(replayed ? 200 : 201).json(withNext(acknowledgement));
  });
  router.get('/uploads/:uploadId/refusals', async (req, res) => {
    const uploadId = String(req.params.uploadId);
    if (!UUID.test(uploadId)) throw notFound('no batch with this uploadId for this LA');
    const after = wholeNumber(req.query.after, 'after', -1, -1, 2 ** 31 - 1);
    const limit = wholeNumber(req.query.limit, 'limit', 100, 1, MAX_LIMIT);
    const page = await deps.listRefusals(req.identity, uploadId, { after, limit });
    res.json({ ...page, next: refusalsPath(uploadId, page.next) });
  });
  return router;
}
