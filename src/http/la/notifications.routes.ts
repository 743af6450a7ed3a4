import { Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { invalidRequest } from '../../domain/app-error.ts';
import type { AckSelector } from '../../ports.ts';
import type { createReadAcknowledgements, createReadNotifications, MailboxQuery } from '../../app/read-notifications.ts';
import { TEAM_CODE } from '../../domain/duty-teams.ts';
import { checkNhsNumber } from '../../domain/nhs-number.ts';
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

const refused = (name: string, diagnostics: string) => invalidRequest([{ diagnostics, expression: [name] }]);

function textParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw refused(name, `${name} must be given once`);
  return value;
}

/** The mailbox's query: after= pages forward; before=, nhsNumber= or name= search back, newest first; team= narrows either. */
function mailboxQueryOf(query: Record<string, unknown>): MailboxQuery {
  const limit = wholeNumber(query.limit, 'limit', 100, 1, MAX_LIMIT);
  const team = textParam(query.team, 'team');
  if (team !== undefined && !TEAM_CODE.test(team)) throw refused('team', 'team must be a duty team code (capitals, digits and dashes, up to 20)');
  const nhs = textParam(query.nhsNumber, 'nhsNumber');
  const checked = nhs === undefined ? undefined : checkNhsNumber(nhs);
  if (checked && !checked.ok) throw refused('nhsNumber', 'nhsNumber is not a valid NHS number');
  const name = textParam(query.name, 'name')?.trim();
  if (name !== undefined && (name.length < 2 || name.length > 100)) throw refused('name', 'name must be 2 to 100 characters');
  const searching = query.before !== undefined || checked !== undefined || name !== undefined;
  if (searching && query.after !== undefined) throw refused('after', 'after pages forward; it cannot be combined with before, nhsNumber or name');
  const narrow = { limit, ...(team !== undefined ? { team } : {}) };
  if (!searching) return { ...narrow, after: wholeNumber(query.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER) };
  return {
    ...narrow,
    ...(query.before !== undefined ? { before: wholeNumber(query.before, 'before', 0, 1, Number.MAX_SAFE_INTEGER) } : {}),
    ...(checked?.ok ? { nhsNumber: checked.value } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

/** GET /la/v1/notifications and POST /la/v1/notifications/ack: the LA's mailbox. */
export function notificationsRouter(deps: {
  readNotifications: ReturnType<typeof createReadNotifications>;
  readAcknowledgements: ReturnType<typeof createReadAcknowledgements>;
  acknowledgeNotifications: ReturnType<typeof createAcknowledgeNotifications>;
  issueStreamTicket: ReturnType<typeof createIssueStreamTicket>;
  validateAck: ValidateFunction<AckSelector>;
  jsonMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true });
  router.get('/notifications', async (req, res) => {
    res.json(await deps.readNotifications(req.identity, mailboxQueryOf(req.query)));
  });
  router.get('/notifications/acknowledgements', async (req, res) => {
    const after = wholeNumber(req.query.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = wholeNumber(req.query.limit, 'limit', 100, 1, MAX_LIMIT);
    res.json(await deps.readAcknowledgements(req.identity, after, limit));
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
