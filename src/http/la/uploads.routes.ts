import { Router, type Request } from 'express';
import { unsupportedMediaType } from '../../domain/app-error.ts';
import type { BatchSource, createPublishBatch } from '../../app/publish-batch.ts';
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

function sourceOf(req: Request, maxBytes: number): BatchSource {
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const reader = READERS[type as keyof typeof READERS];
  if (!reader) throw unsupportedMediaType('Content-Type must be application/json, application/x-ndjson or text/csv');
  return reader(readBodyText(req, maxBytes), headerSequenceNumber(req.get('x-sequence-number')));
}

/** POST /la/v1/uploads: a batch in JSON, NDJSON or CSV, streamed. */
export function uploadsRouter(deps: { publishBatch: ReturnType<typeof createPublishBatch>; maxBytes: number }): Router {
  const router = Router();
  router.post('/uploads', async (req, res) => {
    const { replayed, acknowledgement } = await deps.publishBatch(req.identity, sourceOf(req, deps.maxBytes), req.requestId);
    if (replayed) res.set('X-Replayed', 'true');
    res.status(replayed ? 200 : 201).json(acknowledgement);
  });
  return router;
}
