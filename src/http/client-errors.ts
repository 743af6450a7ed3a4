import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AppError, invalidRequest, payloadTooLarge } from '../domain/app-error.ts';
import { errorForLog } from '../logger.ts';
import { NO_STORE } from './no-store.ts';
import { toOperationOutcome } from './operation-outcome.ts';

// A peer that stops reading must not keep a socket open after its error answer.
const FLUSH_GRACE_MS = 2_000;

/**
 * Answers on a bare socket, where Express never runs (a refused WebSocket upgrade, a request Node's
 * parser rejected), with the same OperationOutcome any other error gets, then closes the connection.
 */
export function endWithError(socket: Duplex, error: AppError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(toOperationOutcome(error));
  const fields = {
    'Content-Type': 'application/fhir+json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': NO_STORE,
    Connection: 'close',
    ...error.headers,
    ...headers,
  };
  const head = Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const timer = setTimeout(() => socket.destroy(), FLUSH_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${head}\r\n${body}`, () => socket.destroy());
}

export type ClientErrorLimits = { maxHeaderBytes: number; headersTimeoutMs: number; requestTimeoutMs: number };

/** What Node's HTTP parser or its timers reported, as the error the client is told. */
function answerFor(code: string | undefined, limits: ClientErrorLimits): AppError {
  if (code === 'HPE_HEADER_OVERFLOW')
    return new AppError(431, 'VALIDATION_ERROR', 'too-costly', `request line and headers are larger than ${limits.maxHeaderBytes} bytes`);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new AppError(
      408, 'VALIDATION_ERROR', 'transient',
      `request not received in time: headers must arrive within ${limits.headersTimeoutMs / 1000} s and the whole request within ` +
        `${limits.requestTimeoutMs / 1000} s; send it again on a new connection`,
    );
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return payloadTooLarge('chunk extensions are too large');
  return invalidRequest('malformed HTTP request', 'structure');
}

/**
 * Replaces Node's bare answers to requests its parser refuses (oversized headers 431, slow clients
 * 408, malformed requests 400) with OperationOutcomes, logged with a request id the caller is given.
 * A response already under way is never corrupted: that connection is only closed.
 */
export function answerClientErrors(server: Server, deps: { logger: Logger; limits: ClientErrorLimits }): void {
  const inFlight = new WeakMap<Duplex, ServerResponse>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res);
    res.once('finish', () => {
      if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
    });
  });
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const quiet = error.code === 'ECONNRESET' || error.code === 'EPIPE' || !socket.writable;
    if (quiet || inFlight.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = answerFor(error.code, deps.limits);
    const requestId = randomUUID();
    // Never the raw packet: it may hold a token or an NHS number.
    deps.logger.warn({ reqId: requestId, status: answer.status, err: errorForLog(error) }, 'request refused by the HTTP parser');
    endWithError(socket, answer, { 'X-Request-ID': requestId });
  });
}
