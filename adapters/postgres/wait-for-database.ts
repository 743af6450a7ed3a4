import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelayMs } from './backoff.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

/** Start-up gave up on PostgreSQL: the message is the one line an operator needs. */
export class DatabaseStartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseStartupError';
  }
}

const codeOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

/**
 * Waits until PostgreSQL answers, retrying with capped jittered backoff (one log line per attempt)
 * for up to `timeoutMs`. An error that retrying cannot cure (a wrong password, a missing database)
 * ends the wait at once.
 */
export async function waitForDatabase(pool: pg.Pool, options: { timeoutMs: number; logger: Logger; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      if (attempt > 1) options.logger.info({ attempt }, 'PostgreSQL is accepting connections');
      return;
    } catch (error) {
      const code = codeOf(error);
      if (!isDatabaseUnavailable(error))
        throw new DatabaseStartupError(`PostgreSQL refused the service (${code ?? 'no code'}): check DATABASE_URL's user, password and database name`, { cause: error });
      const delayMs = backoffDelayMs(attempt);
      if (Date.now() + delayMs > deadline) {
        throw new DatabaseStartupError(
          `PostgreSQL did not accept connections within DATABASE_STARTUP_TIMEOUT_SECONDS (${Math.round(options.timeoutMs / 1000)} s; last error ${code ?? 'timeout'}): ` +
            'start it, or check DATABASE_URL and the network',
          { cause: error },
        );
      }
      options.logger.warn({ attempt, code, retryInMs: delayMs }, 'waiting for PostgreSQL');
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}
