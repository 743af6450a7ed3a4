import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, accessDenied, invalidRequest, notFound, unauthorised } from '../domain/app-error.ts';
import { LA_ROLES, type Identity } from '../domain/identity.ts';
import type { Clock, Metrics, NotificationStore, TicketStore, TokenVerifier } from '../ports.ts';
import type { createAcknowledgeNotifications } from '../app/acknowledge-notifications.ts';
import { bearerOf } from '../http/authenticate.ts';
import { toOperationOutcome } from '../http/operation-outcome.ts';
import type { Fanout } from './fanout.ts';
import { parseClientFrame, type ServerFrame } from './frames.ts';
import type { Subscriber } from './la-channel.ts';
import { errorForLog } from '../logger.ts';

export const STREAM_PATH = '/la/v1/notifications/stream';
/** Close code sent to every socket when the instance shuts down (RFC 6455 "going away"). */
export const CLOSE_GOING_AWAY = 1001;

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
};

/** Refuses an upgrade with an OperationOutcome, as any HTTP error would be. */
function refuse(socket: Duplex, error: AppError): void {
  const body = JSON.stringify(toOperationOutcome(error));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/fhir+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function identify(req: IncomingMessage, url: URL, deps: StreamDeps): Promise<Identity> {
  const ticket = url.searchParams.get('ticket');
  const identity = ticket !== null
    ? await deps.tickets.redeem(ticket, deps.clock.now())
    : await deps.verifier.verify(bearerOf(req.headers.authorization));
  if (!identity) throw unauthorised('stream ticket is unknown, used or expired');
  if (!LA_ROLES.includes(identity.role)) throw accessDenied(`role ${identity.role} may not open the notification stream`);
  return identity;
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

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://stream.invalid');
    void (async () => {
      if (url.pathname !== STREAM_PATH) throw notFound('no WebSocket endpoint here');
      const identity = await identify(req, url, deps);
      const after = afterOf(url);
      wss.handleUpgrade(req, socket, head, (ws) =>
        open(ws, identity, after).catch((error: unknown) => {
          log.error({ err: errorForLog(error) }, 'stream could not start');
          ws.close(1011, 'try again');
        }),
      );
    })().catch((error: unknown) => {
      if (error instanceof AppError) refuse(socket, error);
      else {
        log.error({ err: errorForLog(error) }, 'stream upgrade failed');
        refuse(socket, new AppError(500, 'SERVICE_ERROR', 'exception', 'internal error'));
      }
    });
  });

  async function open(ws: WebSocket, identity: Identity, after: number | undefined): Promise<void> {
    const connectionId = randomUUID();
    const send = (frame: ServerFrame) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(frame));
    const sub: Subscriber = {
      laCode: identity.org,
      lastSent: after ?? (await deps.notifications.lastEventNumber(identity.org)),
      send: (notification) => send({ type: 'notification', notification }),
    };
    let alive = true;
    // Both sides must learn of a dead peer: a ping the client must answer, and a heartbeat it can watch for.
    const heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      send({ type: 'heartbeat', lastEventNumber: sub.lastSent });
    }, deps.heartbeatMs);
    ws.on('pong', () => (alive = true));
    deps.metrics.socketsChanged(1);
    ws.on('close', () => {
      deps.metrics.socketsChanged(-1);
      clearInterval(heartbeat);
      deps.fanout.unsubscribe(sub);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      alive = true;
      const parsed = parseClientFrame(data, isBinary);
      if (!parsed.ok) return void send(parsed.reply);
      deps.acknowledgeNotifications(identity, { eventNumbers: [parsed.frame.eventNumber] }, connectionId).then(
        ({ acknowledged }) => send({ type: 'acknowledged', eventNumbers: acknowledged }),
        (error: unknown) => {
          log.error({ err: errorForLog(error) }, 'ack failed');
          send({ type: 'error', operationOutcome: toOperationOutcome(new AppError(503, 'SERVICE_UNAVAILABLE', 'transient', 'ack not recorded; send it again')) as never });
        },
      );
    });
    await deps.fanout.subscribe(sub);
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
