import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, accessDenied, invalidRequest, notFound, serviceUnavailable, unauthorised, type ErrorTranslator } from '../domain/app-error.ts';
import { TEAM_CODE } from '../domain/duty-teams.ts';
import { LA_ROLES, type Identity } from '../domain/identity.ts';
import type { Notification } from '../domain/notification.ts';
import type { Clock, Metrics, NotificationStore, TicketStore, TokenVerifier } from '../ports.ts';
import type { createAcknowledgeNotifications } from '../app/acknowledge-notifications.ts';
import { bearerOf } from '../http/authenticate.ts';
import { endWithError } from '../http/client-errors.ts';
import { NO_STORE } from '../http/no-store.ts';
import { toOperationOutcome } from '../http/operation-outcome.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { urlTooLong } from '../http/url-limit.ts';
import type { Fanout } from './fanout.ts';
import { parseClientFrame, type ServerFrame } from './frames.ts';
import { closeForFailure, type Subscriber } from './la-channel.ts';
import { createFrameGate, createStreamCounter } from './stream-limits.ts';
import { CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION } from './close-codes.ts';
import { errorForLog } from '../logger.ts';

export const STREAM_PATH = '/la/v1/notifications/stream';
// A full instance: about as long as it takes a balancer to send the client elsewhere.
const FULL_RETRY_AFTER_SECONDS = 5;

export type StreamDeps = {
  verifier: TokenVerifier;
  tickets: TicketStore;
  fanout: Fanout;
  notifications: Pick<NotificationStore, 'counters'>;
  acknowledgeNotifications: ReturnType<typeof createAcknowledgeNotifications>;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
  maxFrameBytes: number;
  metrics: Metrics;
  /** The HTTP API's limiter: opening a stream spends one request of the subject's budget. */
  rateLimiter: RateLimiter;
  /** Outside-world failures (an unreachable database) as the AppError an upgrade is refused with. */
  translateError: ErrorTranslator;
  limits: { maxConnectionsPerClient: number; maxConnections: number; maxFramesPerSecond: number; maxUrlLength: number };
};

const subjectOf = (identity: Identity) => `${identity.org}:${identity.sub}`;

/** Bearer or ticket, then the caller's rate limit, then the role: the same order as every HTTP route. */
async function identify(req: IncomingMessage, url: URL, deps: StreamDeps): Promise<Identity> {
  const ticket = url.searchParams.get('ticket');
  const identity = ticket !== null
    ? await deps.tickets.redeem(ticket, deps.clock.now())
    : await deps.verifier.verify(bearerOf(req.headers.authorization));
  if (!identity) throw unauthorised('stream ticket is unknown, used or expired');
  deps.rateLimiter.take(subjectOf(identity));
  if (!LA_ROLES.includes(identity.role)) throw accessDenied(`role ${identity.role} may not open the notification stream`);
  return identity;
}

function urlOf(req: IncomingMessage, maxLength: number): URL {
  const raw = req.url ?? '/';
  if (raw.length > maxLength) throw urlTooLong(maxLength);
  try {
    return new URL(raw, 'http://stream.invalid');
  } catch {
    throw invalidRequest('request URL is malformed', 'structure');
  }
}

function afterOf(url: URL): number | undefined {
  const after = url.searchParams.get('after');
  if (after === null) return undefined;
  if (!/^\d{1,15}$/.test(after)) throw invalidRequest([{ diagnostics: 'after must be a whole number', expression: ['after'] }]);
  return Number(after);
}

function teamOf(url: URL): string | undefined {
  const team = url.searchParams.get('team');
  if (team === null) return undefined;
  if (!TEAM_CODE.test(team)) throw invalidRequest([{ diagnostics: 'team must be a duty team code (capitals, digits and dashes, up to 20)', expression: ['team'] }]);
  return team;
}

/** A number the LA has not reached would leave the stream silent until it does: refused, naming the real one. */
function checkAfter(after: number | undefined, last: number): void {
  if (after !== undefined && after > last)
    throw invalidRequest([{ diagnostics: `after is beyond this LA's last event number (${last}); reconnect with after=${last} or less`, expression: ['after'] }]);
}

/** The notification stream on the HTTP server's upgrade path: authenticate, replay, then live. */
export function attachStream(server: Server, deps: StreamDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes });
  // No cache keeps a 101, but the stream's answers say no-store like every other (README, Privacy).
  wss.on('headers', (headers) => headers.push(`Cache-Control: ${NO_STORE}`));
  const log = deps.logger.child({ component: 'stream' });
  // A lost peer is dropped within two heartbeats, which frees its slot: the wait worth advising.
  const streams = createStreamCounter(deps.limits.maxConnectionsPerClient, Math.ceil((2 * deps.heartbeatMs) / 1000));

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws owns the socket nothing listens for its errors: a client reset must not crash the process.
    const onEarlyError = () => socket.destroy();
    socket.on('error', onEarlyError);
    void (async () => {
      const url = urlOf(req, deps.limits.maxUrlLength);
      if (url.pathname !== STREAM_PATH) throw notFound('no WebSocket endpoint here');
      const identity = await identify(req, url, deps);
      const after = afterOf(url);
      const team = teamOf(url);
      streams.check(subjectOf(identity));
      // Read before the upgrade: a database that cannot answer is a 503 now, not a silent socket later.
      const counters = await deps.notifications.counters(identity.org);
      const last = counters.lastEventNumber;
      checkAfter(after, last);
      if (deps.limits.maxConnections > 0 && wss.clients.size >= deps.limits.maxConnections)
        throw serviceUnavailable(
          `this instance holds its maximum of ${deps.limits.maxConnections} notification streams; connect again (to another instance if there is one)`,
          FULL_RETRY_AFTER_SECONDS,
        );
      if (socket.destroyed) return;
      socket.removeListener('error', onEarlyError);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.once('close', streams.hold(subjectOf(identity)));
        open(ws, identity, { after, team }, counters);
      });
    })().catch((error: unknown) => {
      const translated = error instanceof AppError ? error : deps.translateError(error);
      const known = translated ?? new AppError(500, 'FAILURE_TO_PROCESS_MESSAGE', 'exception', 'internal error');
      if (translated) log.warn({ status: known.status, code: known.spineCode }, 'stream upgrade refused');
      else log.error({ err: errorForLog(error) }, 'stream upgrade failed');
      if (!socket.destroyed) endWithError(socket, known);
    });
  });

  // One notification read from the outbox goes to every live socket of its LA: its frame is written once.
  const frameTexts = new WeakMap<Notification, string>();
  const notificationFrameText = (notification: Notification) => {
    let text = frameTexts.get(notification);
    if (text === undefined) {
      text = JSON.stringify({ type: 'notification', notification } satisfies ServerFrame);
      frameTexts.set(notification, text);
    }
    return text;
  };

  function open(ws: WebSocket, identity: Identity, asked: { after: number | undefined; team: string | undefined }, counters: { lastEventNumber: number; lastAckNumber: number }): void {
    const connectionId = randomUUID();
    const gate = createFrameGate(deps.limits.maxFramesPerSecond);
    const sendText = (text: string) => ws.readyState === ws.OPEN && ws.send(text);
    const send = (frame: ServerFrame) => sendText(JSON.stringify(frame));
    // Filled in once the replay starts; the close handler may run before that.
    const live: { sub?: Subscriber; heartbeat?: NodeJS.Timeout } = {};
    // Registered before the first await, so a client that leaves at once is still counted out.
    deps.metrics.socketsChanged(1);
    ws.once('close', () => {
      deps.metrics.socketsChanged(-1);
      clearInterval(live.heartbeat);
      if (live.sub) deps.fanout.unsubscribe(live.sub);
    });
    // ws closes the socket itself after a protocol error (1009 for an oversized frame).
    ws.on('error', (error) => log.warn({ err: errorForLog(error) }, 'stream closed on a client protocol error'));
    let alive = true;
    ws.on('pong', () => (alive = true));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws.readyState !== ws.OPEN) return;
      alive = true;
      const verdict = gate.admit();
      if (verdict.kind === 'close') return void ws.close(CLOSE_POLICY_VIOLATION, 'too many frames');
      if (verdict.kind === 'refuse') return void send({ type: 'error', operationOutcome: toOperationOutcome(verdict.error) });
      const parsed = parseClientFrame(data, isBinary);
      if (!parsed.ok) return void send(parsed.reply);
      deps.acknowledgeNotifications(identity, { eventNumbers: [parsed.frame.eventNumber] }, connectionId).then(
        ({ acknowledged }) => send({ type: 'acknowledged', eventNumbers: acknowledged }),
        (error: unknown) => {
          log.error({ err: errorForLog(error) }, 'ack failed');
          send({ type: 'error', operationOutcome: toOperationOutcome(new AppError(503, 'UNABLE_TO_CALL_SERVICE', 'transient', 'ack not recorded; send it again')) });
        },
      );
    });
    if (ws.readyState !== ws.OPEN) return;
    const subscriber: Subscriber = {
      laCode: identity.org,
      lastSent: asked.after ?? counters.lastEventNumber,
      ...(asked.team !== undefined ? { team: asked.team } : {}),
      send: (notification) => sendText(notificationFrameText(notification)),
      sendAck: (ack) => send({ type: 'acknowledgement', ...ack }),
      buffered: () => ws.bufferedAmount,
      close: (code, reason) => ws.close(code, reason),
    };
    live.sub = subscriber;
    // Both sides must learn of a dead peer: a ping the client must answer, and a heartbeat it can watch for.
    // A heartbeat vouches for the LA's last event number, so none is sent while this instance cannot read
    // the outbox: the client, seeing none for two intervals, reconnects (elsewhere, or once it recovers).
    live.heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      const status = deps.fanout.statusOf(identity.org);
      if (status.healthy) send({ type: 'heartbeat', lastEventNumber: Math.max(status.lastEventNumber, subscriber.lastSent) });
    }, deps.heartbeatMs);
    deps.fanout.subscribe(subscriber, counters).catch((error: unknown) => {
      log.warn({ err: errorForLog(error), la: identity.org }, 'stream closed: its replay could not be completed');
      closeForFailure(subscriber, error);
    });
  }

  return {
    /** Closes every socket with 1001 and stops accepting upgrades. */
    close(): void {
      for (const ws of wss.clients) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      wss.close();
    },
    size: () => wss.clients.size,
  };
}
