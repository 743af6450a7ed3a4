import { serviceUnavailable, type AppError } from '../../src/domain/app-error.ts';

// Socket-level failures to reach the server, as Node and pg report them.
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);
// SQLSTATEs of a server that is going away, starting up or full: class 08 (connection exception),
// 57P01–57P03 (admin or crash shutdown, cannot connect now) and 53300 (too many connections).
const SQLSTATE = /^(08...|57P0[123]|53300)$/;
// pg's own words for a pool that cannot hand out a connection in time or a connection that died.
const PG_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|is not queryable|Cannot use a pool after calling end/;

/** A lookup that queued longer than the pool's acquire timeout behind groups on their way (group.ts). */
export class DatabaseWaitTimeout extends Error {
  constructor(waitedMs: number) {
    super(`waited ${waitedMs} ms behind earlier lookups still at the database`);
    this.name = 'DatabaseWaitTimeout';
  }
}

/** Seconds a caller is told to wait after a 503 for a database outage: about one reconnect. */
export const DATABASE_RETRY_AFTER_SECONDS = 3;

function* causes(error: unknown): Generator<unknown> {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    yield e;
    if (e instanceof AggregateError) yield* e.errors;
    e = (e as { cause?: unknown }).cause;
  }
}

/** True when the error says PostgreSQL could not be reached or could not serve in time, not that a statement was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    if (typeof e !== 'object' || e === null) continue;
    if (e instanceof DatabaseWaitTimeout) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (e instanceof Error && PG_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/** The 503 a caller gets while the database is unreachable or the pool is exhausted; undefined for any other error. */
export function databaseUnavailable(error: unknown): AppError | undefined {
  if (!isDatabaseUnavailable(error)) return undefined;
  return serviceUnavailable('the service cannot reach its database just now; try again shortly', DATABASE_RETRY_AFTER_SECONDS);
}
