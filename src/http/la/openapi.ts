import { MAX_SEQUENCE_NUMBER } from './parsers/sequence-number.ts';
import { componentSchemas, refTo } from './contract-schemas.ts';

/**
 * The OpenAPI 3.1 description of the LA API (`/la/v1`), the operators' API (`/ops/v1`) and the health checks, served at
 * GET /la/v1/openapi.json. Every body schema is a file of schemas/ (contract-schemas.ts), every
 * status is one the route really answers: test/support/contract.ts checks each answer the
 * component tests receive against this document, and fails on a status it does not list.
 */

/**
 * The answer of a contract route: a document of the given specification, whose own schema (published by
 * its authors, and checked by the tests) is named rather than referred to, so that the document stands alone.
 */
const contractDocument = (field: string, version: string, schemaUrl: string) => ({
  type: 'object',
  required: [field, 'info'],
  properties: { [field]: { type: 'string', pattern: `^${version.replaceAll('.', '\\.')}\\.[0-9]+$` }, info: { type: 'object' } },
  externalDocs: { description: `Validates against ${schemaUrl}`, url: schemaUrl },
});

export const OPENAPI_PATH = '/la/v1/openapi.json';
export const ASYNCAPI_PATH = '/la/v1/asyncapi.json';

const FHIR_JSON = 'application/fhir+json';
const JSON_TYPE = 'application/json';
const MAX_PAGE = 1000;
// The mailbox reads after= as up to 15 digits (notifications.routes.ts).
const MAX_EVENT_NUMBER_ASKED = 10 ** 15 - 1;

type Software = { name: string; version: string };
type Operation = Record<string, unknown> & { responses: Record<string, unknown> };

const header = (description: string, schema: object, required = true) => ({ description, required, schema });
const HEADERS = {
  'X-Request-ID': header('The request id: the caller\'s X-Request-ID (or TraceID) when it was a safe one, else one the service made. Quote it to the operator.', { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' }),
  'Cache-Control': header('Every answer, success or error: nothing the service says may be kept by a browser, proxy or cache.', { const: 'no-store' }),
};
const RETRY_AFTER = { 'Retry-After': header('Whole seconds to wait before trying again.', { type: 'string', pattern: '^[1-9][0-9]*$' }) };

/** An answer with a JSON body of one of our schemas. */
const answer = (description: string, schemaFile: string, headers: object = {}) => ({
  description,
  headers: { ...HEADERS, ...headers },
  content: { [JSON_TYPE]: { schema: refTo(schemaFile) } },
});

/** A 4xx or 5xx: always an OperationOutcome. */
const refusal = (description: string, headers: object = {}) => ({
  description,
  headers: { ...HEADERS, ...headers },
  content: { [FHIR_JSON]: { schema: refTo('operation-outcome.schema.json') } },
});

const responses = {
  BadRequest: refusal('VALIDATION_ERROR: a query parameter or body that fails its rules; the OperationOutcome\'s expression names it.'),
  Unauthorised: refusal('ACCESS_DENIED: no bearer token, or one that fails verification (signature, kid, iss, aud, exp, nbf, iat, lifetime, claims).', {
    'WWW-Authenticate': header('Always Bearer.', { const: 'Bearer' }),
  }),
  Forbidden: refusal('ACCESS_DENIED: the token\'s role may not use this endpoint.'),
  RequestTimeout: refusal('VALIDATION_ERROR: headers not complete within HEADERS_TIMEOUT_SECONDS, or the whole request not within REQUEST_TIMEOUT_SECONDS; the connection is closed.'),
  PayloadTooLarge: refusal('VALIDATION_ERROR: the body is larger than JSON_MAX_BYTES.'),
  UriTooLong: refusal('VALIDATION_ERROR: the URL is longer than MAX_URL_LENGTH.'),
  UnsupportedMediaType: refusal('VALIDATION_ERROR: a body not sent as application/json, or in a charset (utf-8, utf-16, utf-32 are read) or Content-Encoding the service does not read.'),
  TooManyRequests: refusal('TOO_MANY_REQUESTS: more than RATE_LIMIT_PER_SECOND requests a second from one token subject (per instance).', RETRY_AFTER),
  HeadersTooLarge: refusal('VALIDATION_ERROR: request line and headers larger than MAX_HEADER_BYTES; the connection is closed.'),
  ServerError: refusal('FAILURE_TO_PROCESS_MESSAGE: a fault of the service\'s; the details are in its log, under the request id.'),
  Unavailable: refusal('UNABLE_TO_CALL_SERVICE: the instance is starting, or cannot reach its database or get a connection within DB_ACQUIRE_TIMEOUT_MS. Try again, or another instance.', RETRY_AFTER),
};
const use = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` });

/** What any request may be answered, whatever the route: a URL, headers or a body too long or too slow, a fault, an outage. */
const ANYWHERE = { 408: use('RequestTimeout'), 414: use('UriTooLong'), 431: use('HeadersTooLarge'), 500: use('ServerError'), 503: use('Unavailable') };
/** What every route behind a token may also be answered. */
const GATED = { ...ANYWHERE, 401: use('Unauthorised'), 403: use('Forbidden'), 429: use('TooManyRequests') };

const bearer = (...roles: string[]) => [{ bearerJwt: roles }];

const intQuery = (name: string, description: string, minimum: number, maximum: number, fallback: number) => ({
  name, in: 'query', required: false, description, schema: { type: 'integer', minimum, maximum, default: fallback },
});
const LIMIT = intQuery('limit', 'Most items on the page.', 1, MAX_PAGE, 100);

const jsonBody = (schemaFile: string, description: string) => ({
  required: true, description, content: { [JSON_TYPE]: { schema: refTo(schemaFile) } },
});

const withStatuses = (operation: Operation, extra: Record<string, unknown>): Operation => ({
  ...operation, responses: Object.fromEntries(Object.entries({ ...extra, ...operation.responses }).sort(([a], [b]) => a.localeCompare(b))),
});
const gated = (operation: Operation) => withStatuses(operation, GATED);
const open = (operation: Operation, without: string[] = []) =>
  withStatuses({ ...operation, security: [] }, Object.fromEntries(Object.entries(ANYWHERE).filter(([status]) => !without.includes(status))));

/** A usage report (GET /la/v1 and /ops/v1 reports/usage): a month asked for, answered as JSON or CSV. */
const usageReport = (operation: Record<string, unknown>, schemaFile: string, csvRows: string) => gated({
  ...operation,
  parameters: [
    { name: 'month', in: 'query', required: true, description: 'The calendar month, Europe/London.', schema: { $ref: `${refTo('usage-report.schema.json').$ref}/definitions/month` } },
    { name: 'format', in: 'query', required: false, description: 'json or csv; without it, CSV only when Accept prefers text/csv.', schema: { enum: ['json', 'csv'] } },
  ],
  responses: {
    200: {
      description: 'The report.',
      headers: HEADERS,
      content: {
        [JSON_TYPE]: { schema: refTo(schemaFile) },
        'text/csv': { schema: { type: 'string', description: `RFC 4180 with a header row la,metric,key,label,value: ${csvRows}.` } },
      },
    },
    400: refusal('VALIDATION_ERROR: month missing or not YYYY-MM (from 2000-01), or format neither json nor csv; the expression names it.'),
  },
});

const UPLOAD_TEXT = (what: string) => ({
  schema: { type: 'string', description: `${what} Fields as in the UploadRecord schema; the sequence number in X-Sequence-Number.` },
});

const LA_CODE_PARAMETER = {
  name: 'code', in: 'path', required: true, description: 'The LA\'s code, upper case; one no LA has is a 404.', schema: { type: 'string', pattern: '^[A-Z0-9]{1,12}$' },
};
const statusChange = (move: 'suspend' | 'reinstate', summary: string, answered: string, conflict: string) => ({
  post: gated({
    operationId: `${move}La`, tags: ['ops'], summary, security: bearer('ops'), parameters: [LA_CODE_PARAMETER],
    requestBody: jsonBody('la-status-change.schema.json', 'Why: kept with the LA and in the audit trail. Never a child\'s details.'),
    responses: {
      200: answer(answered, 'la-registry-entry.schema.json'),
      400: refusal('VALIDATION_ERROR: not JSON, or no reason; the field is named.'),
      404: refusal('RESOURCE_NOT_FOUND: no LA with this code is known.'),
      409: refusal(conflict),
      413: use('PayloadTooLarge'),
      415: use('UnsupportedMediaType'),
    },
  }),
});

/** The operators' API (`/ops/v1`, role ops): the LA registry and each feed's health. Counts and codes only: nothing of a child. */
const OPS_PATHS = {
  '/ops/v1/reports/usage': {
    get: usageReport({
      operationId: 'getUsageReportAllLas', tags: ['ops'], summary: 'Every LA\'s usage in a month of England, and the totals',
      description: 'As GET /la/v1/reports/usage, for every LA (one section each) and in aggregate. LA codes only: no child is named.',
      security: bearer('ops'),
    }, 'usage-report-all-las.schema.json', 'the month and shortfalls, each LA\'s figures, then the totals (la *)'),
  },
  '/ops/v1/las': {
    get: gated({
      operationId: 'getRegistry', tags: ['ops'], summary: 'Every LA the service knows: its details, standing, what its next upload would be refused with, and its feed\'s health',
      security: bearer('ops'),
      responses: { 200: answer('Every LA, registered by an operator or set up by its own PUT /la/v1/organisation, in code order.', 'la-registry.schema.json') },
    }),
    post: gated({
      operationId: 'registerLa', tags: ['ops'], summary: 'Register an LA: its code, name, both phones and office hours',
      description: 'The details are checked as PUT /la/v1/organisation checks them. An LA that set itself up is registered with the details given; from then on they are the LA\'s own to change.',
      security: bearer('ops'),
      requestBody: jsonBody('la-registration.schema.json', 'The hours are required here.'),
      responses: {
        201: answer('The LA as now registered.', 'la-registry-entry.schema.json', { Location: header('Where the LA can be read: /ops/v1/las/{code}.', { type: 'string', pattern: '^/ops/v1/las/[A-Z0-9]{1,12}$' }) }),
        400: refusal('VALIDATION_ERROR: not JSON, a body that fails its schema, a phone that is not a valid UK number, or hours whose opens is not before closes. Each failing field is named; no value is repeated.'),
        409: refusal('PRECONDITION_FAILED (business-rule, LA_ALREADY_REGISTERED): an operator registered this LA already; nothing was changed.'),
        413: use('PayloadTooLarge'),
        415: use('UnsupportedMediaType'),
      },
    }),
  },
  '/ops/v1/las/{code}': {
    get: gated({
      operationId: 'getRegistryEntry', tags: ['ops'], summary: 'One LA: its details, standing and feed health', security: bearer('ops'), parameters: [LA_CODE_PARAMETER],
      responses: { 200: answer('The LA.', 'la-registry-entry.schema.json'), 404: refusal('RESOURCE_NOT_FOUND: no LA with this code is known.') },
    }),
  },
  '/ops/v1/las/{code}/suspend': statusChange(
    'suspend', 'Suspend an LA\'s uploads (its plans stay served to clinicians)',
    'The LA as now suspended: its uploads are refused with LA_SUSPENDED, a batch under way at its end.',
    'PRECONDITION_FAILED (business-rule, LA_ALREADY_SUSPENDED): the LA is suspended already; nothing was changed.',
  ),
  '/ops/v1/las/{code}/reinstate': statusChange(
    'reinstate', 'Reinstate a suspended LA: its uploads are taken again', 'The LA as now reinstated.',
    'PRECONDITION_FAILED (business-rule, LA_NOT_SUSPENDED): the LA is not suspended; nothing was changed.',
  ),
};

const paths = {
  '/la/v1/organisation': {
    get: gated({
      operationId: 'getOrganisation', tags: ['organisation'], summary: 'The caller\'s LA: name, phones, office hours, and which number to call now',
      security: bearer('la-system', 'social-worker'),
      responses: { 200: answer('The LA as held (an LA never set up: its token\'s name, null phones, the default hours).', 'organisation-answer.schema.json') },
    }),
    put: gated({
      operationId: 'putOrganisation', tags: ['organisation'], summary: 'Set the LA\'s name, both phones and office hours (required before publishing)',
      security: bearer('la-system'),
      requestBody: jsonBody('organisation.schema.json', 'Both phones are required on every PUT, as valid UK numbers; the hours in one of three shapes.'),
      responses: {
        200: answer('The LA as now held.', 'organisation-answer.schema.json'),
        400: refusal('VALIDATION_ERROR: not JSON, a body that fails its schema, a phone that is not a valid UK number, or hours whose opens is not before closes. Each failing field is named; no value is repeated.'),
        413: use('PayloadTooLarge'),
        415: use('UnsupportedMediaType'),
      },
    }),
  },
  '/la/v1/uploads': {
    post: gated({
      operationId: 'postUpload', tags: ['uploads'], summary: 'Publish a batch of plan records (JSON, NDJSON or CSV, streamed), or check one (dryRun=true)',
      description: 'A plan is keyed by LA + NHS number + plan type + start date: sending the key again updates it. Sequence numbers are per LA and increase; resending the last one replays its acknowledgement (200, X-Replayed: true). Records that fail their rules are refused one by one (CPR codes in the acknowledgement) and the rest load; a batch that cannot be read loads nothing (CPF01). With dryRun=true the batch is read and checked exactly as it would be (the LA\'s checks, the sequence number against the last, every record rule, the one-identity check, PDS when PDS_MODE is not off) and answered 200 with the acknowledgement it would get, marked dryRun: true, and nothing is kept: no plan, no batch, no refusal pages, no worklist change, and the sequence number is still free.',
      security: bearer('la-system'),
      parameters: [
        {
          name: 'X-Sequence-Number', in: 'header', required: false,
          description: 'The batch\'s sequence number: required for NDJSON and CSV; for JSON, instead of (or agreeing with) sequenceNumber in the body.',
          schema: { type: 'integer', minimum: 1, maximum: MAX_SEQUENCE_NUMBER },
        },
        {
          name: 'dryRun', in: 'query', required: false,
          description: 'true: check the batch and say what it would be answered, keeping nothing. One dry run of an LA at a time, apart from its uploads.',
          schema: { type: 'boolean', default: false },
        },
      ],
      requestBody: {
        required: true,
        description: 'Up to UPLOAD_MAX_BYTES, each record up to UPLOAD_MAX_RECORD_BYTES, well-formed UTF-8.',
        content: {
          [JSON_TYPE]: { schema: refTo('upload-batch.schema.json') },
          'application/x-ndjson': UPLOAD_TEXT('One UploadRecord JSON object per line (application/ndjson is read the same).'),
          'text/csv': UPLOAD_TEXT('A header row naming the fields, then one record per row; addressLines in one cell, lines separated by |. A byte-order mark, CRLF and quoted fields are read as a spreadsheet exports them.'),
        },
      },
      responses: {
        200: answer('A resent sequence number: the stored acknowledgement, unchanged (X-Replayed: true); nothing changed. Or a dry run: the acknowledgement the batch would get (dryRun: true, recordsNext null), or the stored one it would replay (dryRun: true and X-Replayed: true); nothing kept.', 'upload-acknowledgement.schema.json', {
          'X-Replayed': header('true on a replay of a resent sequence number; absent on a dry run\'s new batch.', { const: 'true' }, false),
        }),
        201: answer('The batch was read: its acknowledgement, listing only the records that did not load.', 'upload-acknowledgement.schema.json'),
        400: refusal('VALIDATION_ERROR: the batch is unreadable (CPF01 in the diagnostics: bad JSON, CSV or UTF-8, an unknown envelope member or column, no records; nothing loaded, sequence number not used), the sequence number is missing or out of range, or dryRun is neither true nor false; PRECONDITION_FAILED: X-Sequence-Number is invalid.'),
        409: refusal('RESOURCE_VERSION_MISMATCH: the sequence number is lower than the last accepted one. PRECONDITION_FAILED (issue code business-rule), the diagnostics opening with a code: LA_SUSPENDED, the operators suspended the LA (also for a batch under way when it was suspended, refused at its end); LA_NOT_REGISTERED, LA_REGISTRATION=required and no operator registered the LA; LA_CONTACT_MISSING, the LA has not set both phones with PUT /la/v1/organisation. Nothing was loaded and the sequence number is still free.'),
        413: refusal('VALIDATION_ERROR: the body is larger than UPLOAD_MAX_BYTES; nothing loaded.'),
        415: refusal('VALIDATION_ERROR: a Content-Type other than application/json, application/x-ndjson or text/csv.'),
        429: refusal('TOO_MANY_REQUESTS: over the rate limit, or another upload (for a dry run: another dry run) of this LA is still being received; send it again once that one is acknowledged.', RETRY_AFTER),
        503: refusal('UNABLE_TO_CALL_SERVICE: PDS cannot answer (CPF05 in the diagnostics), the database cannot be reached, or it restarted while the batch was received. Nothing loaded, sequence number not used: send the same batch again.', RETRY_AFTER),
      },
    }),
  },
  '/la/v1/uploads/{uploadId}/refusals': {
    get: gated({
      operationId: 'getUploadRefusals', tags: ['uploads'], summary: 'Page through the refused records an acknowledgement does not list',
      security: bearer('la-system'),
      parameters: [
        { name: 'uploadId', in: 'path', required: true, description: 'From the acknowledgement; anything else, or another LA\'s, is a 404.', schema: { type: 'string' } },
        intQuery('after', 'The index after which to start (-1: from the first).', -1, 2 ** 31 - 1, -1),
        LIMIT,
      ],
      responses: {
        200: answer('A page of refused records, lowest index first.', 'upload-refusals-page.schema.json'),
        400: use('BadRequest'),
        404: refusal('RESOURCE_NOT_FOUND: no batch with this uploadId for the caller\'s LA.'),
      },
    }),
  },
  '/la/v1/refusals': {
    get: gated({
      operationId: 'getRefusalsWorklist', tags: ['uploads'], summary: 'The LA\'s refusals worklist: its children whose latest record was refused and has not loaded since',
      description: 'One entry per NHS number (valid ones only: a record whose NHS number is unusable is in its batch\'s refusals alone), with the latest refusal, when it was first and last refused, and the batch and index of the last. A batch that loads or deletes a plan of the child, refusing none of its records, takes it off; so does REFUSAL_RETENTION_DAYS without a batch refusing it again.',
      security: bearer('la-system'),
      parameters: [
        { name: 'after', in: 'query', required: false, description: 'The next cursor of the previous page (an NHS number).', schema: { type: 'string', pattern: '^[0-9]{10}$' } },
        LIMIT,
      ],
      responses: { 200: answer('A page of the worklist, in NHS number order, and how many it holds.', 'refusals-worklist-page.schema.json'), 400: use('BadRequest') },
    }),
  },
  '/la/v1/reports/usage': {
    get: usageReport({
      operationId: 'getUsageReport', tags: ['reports'], summary: 'The LA\'s usage in a month of England: accesses, silent reads, notifications, acknowledgement times',
      description: 'Computed from what the service keeps, as JSON or as CSV (rows la,metric,key,label,value). complete is false, and shortfalls says which figures and why, for a month not over or partly past a retention period. No child is named.',
      security: bearer('la-system', 'social-worker'),
    }, 'usage-report.schema.json', 'the report\'s month and shortfalls (la empty), then the LA\'s figures, one per row'),
  },
  '/la/v1/plans': {
    get: gated({
      operationId: 'getPlans', tags: ['plans'], summary: 'The reconciliation extract: every plan held for the LA, oldest first',
      security: bearer('la-system'),
      parameters: [
        { name: 'after', in: 'query', required: false, description: 'The next cursor of the previous page.', schema: { type: 'string', pattern: '^[0-9]{1,18}$' } },
        LIMIT,
      ],
      responses: { 200: answer('A page of plans.', 'plans-page.schema.json'), 400: use('BadRequest') },
    }),
  },
  '/la/v1/notifications': {
    get: gated({
      operationId: 'getNotifications', tags: ['notifications'], summary: 'The LA\'s mailbox: in event-number order after a number, or searched back, newest first',
      description: 'With after= (or nothing) the page after that event number, in order: what a case system polls. With before=, nhsNumber= or name= (which may be combined, but not with after=), the LA\'s older notifications matching them, newest first. team= narrows either to the team\'s own and those routed to no team.',
      security: bearer('la-system', 'social-worker'),
      parameters: [
        intQuery('after', 'The last event number already processed.', 0, MAX_EVENT_NUMBER_ASKED, 0), LIMIT,
        { name: 'before', in: 'query', required: false, description: 'Notifications before this event number, newest first.', schema: { type: 'integer', minimum: 1, maximum: MAX_EVENT_NUMBER_ASKED } },
        { name: 'nhsNumber', in: 'query', required: false, description: 'Only those about this child (10 digits, spaces allowed).', schema: { type: 'string', maxLength: 20 } },
        { name: 'name', in: 'query', required: false, description: 'Only those about a child every word of which starts one of its names, in any order (case ignored).', schema: { type: 'string', minLength: 2, maxLength: 100 } },
        { name: 'team', in: 'query', required: false, description: 'Only this duty team\'s notifications, and those routed to no team.', schema: { $ref: `${refTo('upload-record.schema.json').$ref}/properties/teamCode` } },
      ],
      responses: { 200: answer('A page of notifications, and the LA\'s last event number.', 'notifications-page.schema.json'), 400: use('BadRequest') },
    }),
  },
  '/la/v1/notifications/acknowledgements': {
    get: gated({
      operationId: 'getAcknowledgements', tags: ['notifications'], summary: 'Who acknowledged which notifications, and when, oldest first',
      security: bearer('la-system', 'social-worker'),
      parameters: [intQuery('after', 'The last acknowledgement number already processed.', 0, MAX_EVENT_NUMBER_ASKED, 0), LIMIT],
      responses: { 200: answer('A page of acknowledgements, and the LA\'s last acknowledgement number.', 'acknowledgements-page.schema.json'), 400: use('BadRequest') },
    }),
  },
  '/la/v1/duty-teams': {
    get: gated({
      operationId: 'getDutyTeams', tags: ['duty-teams'], summary: 'The LA\'s duty teams and routing rules',
      security: bearer('la-system', 'social-worker'),
      responses: { 200: answer('As set (none: no teams and routing null, and every worker is told of everything).', 'duty-teams-answer.schema.json') },
    }),
    put: gated({
      operationId: 'putDutyTeams', tags: ['duty-teams'], summary: 'Set the LA\'s duty teams, who is told in and out of hours, and where unanswered alerts escalate',
      security: bearer('la-system'),
      requestBody: jsonBody('duty-teams.schema.json', 'Replaces what was set, whole. Notifications already made keep the team they were routed to.'),
      responses: {
        200: answer('As now set.', 'duty-teams-answer.schema.json'),
        400: refusal('VALIDATION_ERROR: not JSON, a body that fails its schema, a phone that is not a valid UK number, a team code given twice, or a rule or escalation naming a team not defined. Each failing field is named.'),
        409: refusal('PRECONDITION_FAILED (business-rule, LA_CONTACT_MISSING): the LA has not set its contact details with PUT /la/v1/organisation.'),
        413: use('PayloadTooLarge'),
        415: use('UnsupportedMediaType'),
      },
    }),
    delete: gated({
      operationId: 'deleteDutyTeams', tags: ['duty-teams'], summary: 'Clear the LA\'s duty teams: every worker is told of everything again, and nothing escalates',
      security: bearer('la-system'),
      responses: {
        200: answer('None set now.', 'duty-teams-answer.schema.json'),
        409: refusal('PRECONDITION_FAILED (business-rule, LA_CONTACT_MISSING): the LA has not set its contact details with PUT /la/v1/organisation.'),
      },
    }),
  },
  '/la/v1/notifications/ack': {
    post: gated({
      operationId: 'postNotificationsAck', tags: ['notifications'], summary: 'Acknowledge the LA\'s notifications, recording who and when',
      security: bearer('la-system', 'social-worker'),
      requestBody: jsonBody('notification-ack.schema.json', 'Every one up to an event number, or a list of them.'),
      responses: {
        200: answer('The event numbers newly acknowledged.', 'notification-ack-answer.schema.json'),
        400: refusal('VALIDATION_ERROR: not JSON, or neither {"upTo": n} nor {"eventNumbers": [...]}.'),
        413: use('PayloadTooLarge'),
        415: use('UnsupportedMediaType'),
      },
    }),
  },
  '/la/v1/notifications/stream-tickets': {
    post: gated({
      operationId: 'postStreamTicket', tags: ['notifications'], summary: 'A single-use ticket to open the notification stream from a browser',
      description: `Then connect to the WebSocket /la/v1/notifications/stream?ticket=…; the stream is described by the AsyncAPI document at ${ASYNCAPI_PATH}.`,
      security: bearer('la-system', 'social-worker'),
      responses: { 201: answer('The ticket, and when it expires (STREAM_TICKET_TTL_SECONDS).', 'stream-ticket.schema.json') },
    }),
  },
  ...OPS_PATHS,
  [OPENAPI_PATH]: {
    get: open({
      operationId: 'getOpenApi', tags: ['contracts'], summary: 'This document', description: 'No token needed.',
      responses: { 200: { description: 'The OpenAPI 3.1 document of /la/v1, /ops/v1 and /health.', headers: HEADERS, content: { [JSON_TYPE]: { schema: contractDocument('openapi', '3.1', 'https://spec.openapis.org/oas/3.1/schema/2022-10-07') } } } },
    }),
  },
  [ASYNCAPI_PATH]: {
    get: open({
      operationId: 'getAsyncApi', tags: ['contracts'], summary: 'The AsyncAPI 3.0 document of the notification stream', description: 'No token needed.',
      responses: { 200: { description: 'The AsyncAPI 3.0 document of /la/v1/notifications/stream.', headers: HEADERS, content: { [JSON_TYPE]: { schema: contractDocument('asyncapi', '3.0', 'https://www.asyncapi.com/definitions/3.0.0/asyncapi.json') } } } },
    }),
  },
  '/health/live': {
    get: open({
      operationId: 'getLive', tags: ['health'], summary: 'The process runs', description: 'No token needed; answers while the instance starts.',
      responses: { 200: answer('Always, while the process runs.', 'health-live.schema.json') },
    }, ['503']),
  },
  '/health/ready': {
    get: open({
      operationId: 'getReady', tags: ['health'], summary: 'Whether this instance can serve', description: 'No token needed.',
      responses: {
        200: answer('PostgreSQL reachable, every migration applied, the notification listener connected, not draining.', 'health-ready.schema.json'),
        503: answer('Not ready (still starting, draining, or a check failed): the body says which.', 'health-ready.schema.json'),
      },
    }),
  },
};

const ALLOW = { Allow: header('The methods the path allows.', { type: 'string' }) };

// Paths app.ts puts behind `la.use(prefix, authenticate(…))`: there every method, OPTIONS included, meets the token check first.
const TOKEN_FIRST = ['/la/v1/uploads', '/la/v1/plans', '/la/v1/notifications'];

/**
 * OPTIONS on a path, as the service answers it. A CORS preflight (under /la/v1, with CORS_ORIGINS set)
 * is 204 for a listed origin and 403 for another. Any other OPTIONS is answered with the methods the
 * path allows, after the token check where the path sits behind one.
 */
function optionsOf(path: string): Operation {
  const tokenFirst = TOKEN_FIRST.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  const cors = path.startsWith('/la/v1/');
  const stem = path.replace(/[{}]/g, '').split(/[/.-]/).filter(Boolean).map((w) => (w[0] as string).toUpperCase() + w.slice(1)).join('');
  const operation: Operation = {
    operationId: `options${stem}`, tags: ['cors'], summary: 'CORS preflight, and the methods of the path',
    description: tokenFirst ? 'A preflight needs no token; any other OPTIONS here meets the token check first, like every request of the path.' : 'No token needed.',
    security: [],
    responses: {
      200: {
        description: `Not a preflight: the methods the path allows, in Allow${tokenFirst ? ' (with a token of a role the path admits)' : ''}.`,
        headers: { ...HEADERS, ...ALLOW },
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      ...(cors
        ? {
          204: {
            description: 'A preflight (Origin and Access-Control-Request-Method) from an origin listed in CORS_ORIGINS: the methods and headers a browser may use. No credentials are ever allowed.',
            headers: {
              ...HEADERS,
              'Access-Control-Allow-Origin': header('The origin, as sent.', { type: 'string', pattern: '^https?://' }),
              'Access-Control-Allow-Methods': header('The methods of the APIs.', { type: 'string' }),
              'Access-Control-Allow-Headers': header('The request headers of the APIs.', { type: 'string' }),
            },
          },
          403: refusal(`ACCESS_DENIED: a preflight from an origin not listed in CORS_ORIGINS${tokenFirst ? ', or a token whose role may not use the path' : ''}. (With no CORS_ORIGINS, a preflight is answered like any other OPTIONS.)`),
        }
        : {}),
      ...(tokenFirst ? { 401: use('Unauthorised'), 429: use('TooManyRequests') } : {}),
    },
  };
  // The health checks answer while the instance starts.
  return withStatuses(operation, path.startsWith('/health/') ? Object.fromEntries(Object.entries(ANYWHERE).filter(([status]) => status !== '503')) : ANYWHERE);
}

/** Schemas the document names; contract-schemas.ts adds the files they refer to. */
const SCHEMA_FILES = [
  'operation-outcome.schema.json', 'organisation.schema.json', 'organisation-answer.schema.json', 'upload-batch.schema.json',
  'upload-acknowledgement.schema.json', 'upload-refusals-page.schema.json', 'plans-page.schema.json', 'notifications-page.schema.json',
  'notification-ack.schema.json', 'notification-ack-answer.schema.json', 'acknowledgements-page.schema.json', 'duty-teams.schema.json',
  'duty-teams-answer.schema.json', 'stream-ticket.schema.json', 'health-live.schema.json', 'health-ready.schema.json',
  'refusals-worklist-page.schema.json', 'usage-report.schema.json', 'usage-report-all-las.schema.json',
  'la-registration.schema.json', 'la-status-change.schema.json', 'la-registry.schema.json', 'la-registry-entry.schema.json',
];

/** The OpenAPI 3.1 document; the same for every caller and instance. */
export function openApiDocument(software: Software): Record<string, unknown> {
  return {
    openapi: '3.1.1',
    info: {
      title: 'cpis-open: the local authority API',
      version: software.version,
      summary: 'LAs publish minimal child-protection flags, read them back, and read and acknowledge the notifications of their children being looked up.',
      description: [
        'Every endpoint but the health checks and the contracts needs `Authorization: Bearer <JWT>`. On /la/v1 the LA is always the token\'s `org`, never a parameter; the operators\' API, /ops/v1 (role ops), names the LA in its path.',
        'Every 4xx and 5xx is a FHIR OperationOutcome (application/fhir+json). A request the HTTP parser cannot read at all is answered 400 on any path, and an unknown path 404 (after the token check, under /la/v1).',
        `Live alerts (the WebSocket /la/v1/notifications/stream) are described by the AsyncAPI document at ${ASYNCAPI_PATH}.`,
        'Schemas are the files of schemas/ in the repository, under their names in PascalCase.',
      ].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'organisation', description: 'The LA\'s contact details and hours' },
      { name: 'uploads', description: 'Publishing plans' },
      { name: 'plans', description: 'What is held for the LA' },
      { name: 'reports', description: 'The LA\'s usage of the service' },
      { name: 'duty-teams', description: 'Who in the LA is alerted, and where unanswered alerts escalate' },
      { name: 'notifications', description: 'The mailbox and the stream\'s tickets' },
      { name: 'ops', description: 'For the service\'s operators: the LA registry and each feed\'s health' },
      { name: 'contracts', description: 'These documents' },
      { name: 'health', description: 'For operators and load balancers' },
      { name: 'cors', description: 'Browsers\' preflight requests' },
    ],
    paths: Object.fromEntries(Object.entries(paths).map(([path, item]) => [path, { ...item, options: optionsOf(path) }])),
    components: {
      schemas: componentSchemas(SCHEMA_FILES),
      responses,
      securitySchemes: {
        bearerJwt: {
          type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
          description: 'A JWT with the claims of the TokenClaims schema, from the identity provider (AUTH_MODE=jwks) or `npm run token` (AUTH_MODE=dev). Each operation lists the roles it admits.',
        },
      },
    },
  };
}
