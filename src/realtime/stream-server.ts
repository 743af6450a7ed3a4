import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, accessDenied, invalidRequest, notFound, unauthorised } from '../domain/app-error.ts';
import { LA_ROLES, type Identity } from '../domain/identity.ts';
import type { Clock, Metrics, NotificationStore, TicketStore, TokenVerifier } from '../ports.ts';
import type { createAcknowledgeNotifications } from '../app/acknowledge-notifications.ts';
import { bearerOf } from '../http/authenticate.ts';
import { endWithError } from '../http/client-errors.ts';
import { toOperationOutcome } from '../http/operation-outcome.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { urlTooLong } from '../http/url-limit.ts';
import type { Fanout } from './fanout.ts';
import { parseClientFrame, type ServerFrame } from './frames.ts';
import type { Subscriber } from './la-channel.ts';
import { createFrameGate, createStreamCounter } from './stream-limits.ts';
import { errorForLog } from '../logger.ts';

export const STREAM_PATH = '/la/v1/notifications/stream';
/** Close code sent to every socket when the instance shuts down (RFC 6455 "going away"). */
export const CLOSE_GOING_AWAY = 1001;
/** Close code for a client that keeps sending frames far over its limit (RFC 6455 "policy violation"). */
export const CLOSE_POLICY_VIOLATION = 1008;

export type StreamDeps = {
  verifier: TokenVerifier;
  tickets: TicketStore;
  fanout: Fanout;
  notifications: Pick<NotificationStore, 'lastEventNumber'>;
  acknowledgeNotifications: ReturnType<typeof createAcknowledgeNotifications>;
  clock: Clock;
  logger: Logger;
  heartbeatMs: number;
  maxFrameBytes: number;
  metrics: Metrics;
  /** The HTTP API's limiter: opening a stream spends one request of the subject's budget. */
  rateLimiter: RateLimiter;
  limits: { maxConnectionsPerClient: number; maxFramesPerSecond: number; maxUrlLength: number };
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

/** The notification stream on the HTTP server's upgrade path: authenticate, replay, then live. */
export function attachStream(server: Server, deps: StreamDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes });
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
      streams.check(subjectOf(identity));
      if (socket.destroyed) return;
      socket.removeListener('error', onEarlyError);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.once('close', streams.hold(subjectOf(identity)));
        open(ws, identity, after).catch((error: unknown) => {
          log.error({ err: errorForLog(error) }, 'stream could not start');
          ws.close(1011, 'try again');
        });
      });
    })().catch((error: unknown) => {
      const known = error instanceof AppError ? error : new AppError(500, 'SERVICE_ERROR', 'exception', 'internal error');
      if (known === error) log.warn({ status: known.status, code: known.spineCode }, 'stream upgrade refused');
      else log.error({ err: errorForLog(error) }, 'stream upgrade failed');
      if (!socket.destroyed) endWithError(socket, known);
    });
  });

  async function open(ws: WebSocket, identity: Identity, after: number | undefined): Promise<void> {
    const connectionId = randomUUID();
    const gate = createFrameGate(deps.limits.maxFramesPerSecond);
    const send = (frame: ServerFrame) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(frame));
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
          send({ type: 'error', operationOutcome: toOperationOutcome(new AppError(503, 'SERVICE_UNAVAILABLE', 'transient', 'ack not recorded; send it again')) });
        },
      );
    });
    const lastSent = after ?? (await deps.notifications.lastEventNumber(identity.org));
    if (ws.readyState !== ws.OPEN) return;
    const subscriber: Subscriber = { laCode: identity.org, lastSent, send: (notification) => send({ type: 'notification', notification }) };
    live.sub = subscriber;
    // Both sides must learn of a dead peer: a ping the client must answer, and a heartbeat it can watch for.
    live.heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      send({ type: 'heartbeat', lastEventNumber: subscriber.lastSent });
    }, deps.heartbeatMs);
    await deps.fanout.subscribe(subscriber);
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
