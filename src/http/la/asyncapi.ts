import { CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN_LATER } from '../../realtime/close-codes.ts';
import { STREAM_PATH } from '../../realtime/stream-server.ts';
import { componentSchemas, refTo } from './contract-schemas.ts';
import { OPENAPI_PATH } from './openapi.ts';

/**
 * The AsyncAPI 3.0 description of the notification stream (`/la/v1/notifications/stream`), served at
 * GET /la/v1/asyncapi.json. The frames' schemas are schemas/ws-server-frame.schema.json and
 * schemas/ws-client-frame.schema.json (with the notification they carry), as components.
 */

type Software = { name: string; version: string };

const CHANNEL = 'notificationStream';
const SERVER_FRAME = 'ws-server-frame.schema.json';

/** Close codes the service sends, what they say and what a client does (README, Live alerts). */
export const STREAM_CLOSE_CODES = [
  { code: CLOSE_GOING_AWAY, reason: 'server shutting down', then: 'Reconnect (to another instance) with after= the last event number you have.' },
  { code: CLOSE_POLICY_VIOLATION, reason: 'too many frames', then: 'Send fewer frames; acknowledge many at once with POST /la/v1/notifications/ack.' },
  { code: 1009, reason: '', then: 'A frame was larger than STREAM_MAX_FRAME_BYTES: send smaller frames.' },
  { code: CLOSE_TRY_AGAIN_LATER, reason: 'delivery interrupted: reconnect with after=N', then: 'The replay could not read the outbox (a database outage): reconnect with after=N after a short wait.' },
  { code: CLOSE_TOO_SLOW, reason: 'too slow: reconnect with after=N', then: 'The client stayed more than STREAM_MAX_BUFFERED_BYTES behind for STREAM_SLOW_CONSUMER_SECONDS: reconnect with after=N once it can keep up.' },
];

/** HTTP answers to an upgrade the service refuses, each with an OperationOutcome body (application/fhir+json). */
export const STREAM_UPGRADE_REFUSALS = {
  400: 'VALIDATION_ERROR: after is not a whole number, or is beyond the LA\'s last event number (the diagnostics name the real one); or team is not a duty team code.',
  401: 'ACCESS_DENIED: no token, a bad one, or a ticket unknown, used or expired.',
  403: 'ACCESS_DENIED: a role other than la-system or social-worker.',
  404: 'RESOURCE_NOT_FOUND: an upgrade to any other path.',
  414: 'VALIDATION_ERROR: the URL is longer than MAX_URL_LENGTH.',
  429: 'TOO_MANY_REQUESTS: over the token subject\'s rate limit (a ticket is then used up), or the user already holds STREAM_MAX_CONNECTIONS_PER_CLIENT streams on this instance; see Retry-After.',
  500: 'FAILURE_TO_PROCESS_MESSAGE: a fault of the service\'s.',
  503: 'UNABLE_TO_CALL_SERVICE: the instance is starting, cannot reach its database, or holds STREAM_MAX_CONNECTIONS streams; see Retry-After, or connect to another instance.',
};

const message = (name: string, title: string, summary: string, payload: object) => ({
  name, title, summary, contentType: 'application/json', payload,
});
const serverFrame = (definition: string) => refTo(SERVER_FRAME, `/definitions/${definition}`);
const channelMessage = (name: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${name}` });

/** The AsyncAPI 3.0 document, for clients that reach the service at `baseUrl` (http(s)://host[:port]). */
export function asyncApiDocument(software: Software, baseUrl: string): Record<string, unknown> {
  const base = new URL(baseUrl);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'cpis-open: live alerts for local authorities',
      version: software.version,
      description: [
        'A duty social worker\'s console or an LA\'s case system keeps one WebSocket open and receives its own LA\'s notifications as they happen, in event-number order, at least once.',
        `The HTTP side of the LA API (the mailbox, acknowledgements, stream tickets) is described by the OpenAPI document at ${OPENAPI_PATH}.`,
      ].join('\n\n'),
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    defaultContentType: 'application/json',
    servers: {
      cpis: {
        host: base.host,
        // PUBLIC_BASE_URL may carry a path (a reverse proxy's prefix): the channel's address is under it.
        ...(base.pathname === '/' ? {} : { pathname: base.pathname }),
        protocol: base.protocol === 'https:' ? 'wss' : 'ws',
        description: 'This instance (PUBLIC_BASE_URL when set). Any instance serves any LA: a client moves to another on 1001, 1013 or a 503.',
        security: [{ $ref: '#/components/securitySchemes/bearerJwt' }, { $ref: '#/components/securitySchemes/streamTicket' }],
      },
    },
    channels: {
      [CHANNEL]: {
        address: STREAM_PATH,
        title: 'The LA\'s notifications (roles la-system and social-worker)',
        description: [
          'Open with `Authorization: Bearer <token>` on the upgrade, or, from a browser, with `?ticket=` from POST /la/v1/notifications/stream-tickets (single use, any instance, within STREAM_TICKET_TTL_SECONDS).',
          '`?after=<eventNumber>` replays every notification after it, then the same socket goes live with no gap and no duplicate at the seam; without it the stream starts live.',
          '`?team=<code>` sends only that duty team\'s notifications and those routed to no team (PUT /la/v1/duty-teams); event numbers are the LA\'s, so the skipped ones leave gaps. Acknowledgement frames come for every acknowledgement of the LA, whoever made it.',
          'A refused upgrade is an HTTP answer with an OperationOutcome body: see x-upgrade-refusals. Close codes, and what to do: see x-close-codes.',
        ].join('\n\n'),
        messages: {
          notification: { $ref: '#/components/messages/notification' },
          heartbeat: { $ref: '#/components/messages/heartbeat' },
          acknowledged: { $ref: '#/components/messages/acknowledged' },
          acknowledgement: { $ref: '#/components/messages/acknowledgement' },
          error: { $ref: '#/components/messages/error' },
          ack: { $ref: '#/components/messages/ack' },
        },
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              additionalProperties: false,
              properties: {
                ticket: { type: 'string', description: 'A stream ticket (StreamTicket.ticket), instead of the Authorization header.' },
                after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'Replay the notifications after this event number first; at most the LA\'s last event number.' },
                team: { type: 'string', pattern: '^[A-Z0-9][A-Z0-9-]{0,19}$', description: 'Only this duty team\'s notifications, and those routed to no team.' },
              },
            },
            headers: {
              type: 'object',
              properties: { Authorization: { type: 'string', pattern: '^Bearer [A-Za-z0-9._~+/=-]+$', description: 'Unless ?ticket= is given.' } },
            },
            bindingVersion: '0.1.0',
          },
        },
        'x-upgrade-refusals': STREAM_UPGRADE_REFUSALS,
        'x-close-codes': STREAM_CLOSE_CODES,
      },
    },
    operations: {
      sendNotification: {
        action: 'send', channel: { $ref: `#/channels/${CHANNEL}` }, messages: [channelMessage('notification')],
        summary: 'Each of the LA\'s notifications: replayed after ?after=, then live.',
      },
      sendHeartbeat: {
        action: 'send', channel: { $ref: `#/channels/${CHANNEL}` }, messages: [channelMessage('heartbeat')],
        summary: 'Every STREAM_HEARTBEAT_SECONDS, with a WebSocket ping: reconnect with after= if two intervals pass without one.',
      },
      sendAcknowledgement: {
        action: 'send', channel: { $ref: `#/channels/${CHANNEL}` }, messages: [channelMessage('acknowledgement')],
        summary: 'Someone of the LA acknowledged notifications (on any console, stream or the mailbox, on any instance): who, by name, and when.',
      },
      receiveAck: {
        action: 'receive', channel: { $ref: `#/channels/${CHANNEL}` }, messages: [channelMessage('ack')],
        summary: 'A client acknowledges one notification; the service answers with the numbers it newly marked, or an error frame for a frame it could not take (the socket stays up).',
        reply: { channel: { $ref: `#/channels/${CHANNEL}` }, messages: [channelMessage('acknowledged'), channelMessage('error')] },
      },
    },
    components: {
      schemas: componentSchemas([SERVER_FRAME, 'ws-client-frame.schema.json']),
      messages: {
        notification: message('notification', 'Notification', 'One notification, in the mailbox\'s shape (the Notification schema).', serverFrame('notificationFrame')),
        heartbeat: message('heartbeat', 'Heartbeat', 'The LA\'s last event number as this instance last read it.', serverFrame('heartbeatFrame')),
        acknowledged: message('acknowledged', 'Acknowledged', 'The answer to an ack frame.', serverFrame('acknowledgedFrame')),
        acknowledgement: message('acknowledgement', 'Acknowledgement', 'Notifications of the LA acknowledged, by whom and when.', serverFrame('acknowledgementFrame')),
        error: message('error', 'Error', 'A frame the service could not take, as an OperationOutcome.', serverFrame('errorFrame')),
        ack: message('ack', 'Ack', 'Acknowledge one notification by its event number.', refTo('ws-client-frame.schema.json')),
      },
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The LA API\'s bearer token, on the upgrade request.' },
        streamTicket: { type: 'httpApiKey', in: 'query', name: 'ticket', description: 'A single-use ticket from POST /la/v1/notifications/stream-tickets, for browsers.' },
      },
    },
  };
}
