import { Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { invalidRequest } from '../../domain/app-error.ts';
import type { AckSelector } from '../../ports.ts';
import type { createReadNotifications } from '../../app/read-notifications.ts';
import type { createAcknowledgeNotifications } from '../../app/acknowledge-notifications.ts';
import type { createIssueStreamTicket } from '../../app/issue-stream-ticket.ts';
import { schemaIssues } from '../../schemas.ts';
import { jsonBody } from '../json-body.ts';

const MAX_LIMIT = 1000;

function wholeNumber(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw invalidRequest([{ diagnostics: `${name} must be a whole number from ${min} to ${max}`, expression: [name] }]);
  return n;
}

/** GET /la/v1/notifications and POST /la/v1/notifications/ack: the LA's mailbox. */
export function notificationsRouter(deps: {
  readNotifications: ReturnType<typeof createReadNotifications>;
  acknowledgeNotifications: ReturnType<typeof createAcknowledgeNotifications>;
  issueStreamTicket: ReturnType<typeof createIssueStreamTicket>;
  validateAck: ValidateFunction<AckSelector>;
  jsonMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true });
  router.get('/notifications', async (req, res) => {
    const after = wholeNumber(req.query.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = wholeNumber(req.query.limit, 'limit', 100, 1, MAX_LIMIT);
    res.json(await deps.readNotifications(req.identity, after, limit));
  });
  router.post('/notifications/ack', ...jsonBody(deps.jsonMaxBytes), async (req, res) => {
    if (!deps.validateAck(req.body)) throw invalidRequest(schemaIssues(deps.validateAck.errors, req.body, 'send {"upTo": n} or {"eventNumbers": [...]}'));
    res.json(await deps.acknowledgeNotifications(req.identity, req.body, req.requestId));
  });
  router.post('/notifications/stream-tickets', async (req, res) => {
    res.status(201).json(await deps.issueStreamTicket(req.identity));
  });
  return router;
}
