import pg from 'pg';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboxWakeups } from '../../src/ports.ts';
import { backoffDelayMs, RECONNECT_BACKOFF, type Backoff } from './backoff.ts';
import type { RegisterChanges } from './register-cache.ts';

const CHANNEL = 'cpis_outbox';
// Changes to what the lookup path reads of the register (migration 0021): the read model forgets.
const REGISTER_CHANNEL = 'cpis_register';
// A connect that hangs (a server that accepts and never answers) counts as a failed attempt.
const CONNECT_TIMEOUT_MS = 5_000;

const codeOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

/**
 * LISTENs for outbox wake-ups on one dedicated connection. When it drops, one reconnect loop (never
 * more) retries with capped, jittered backoff, logging one line per attempt; a client that failed to
 * connect is ended before the next is made, so the instance holds at most one listener connection.
 * After a reconnect it wakes every LA: notifications may have been committed while it was away.
 *
 * The same connection LISTENs for register changes, for the lookup path's read model
 * (register-cache.ts): it is told of each one, and also whenever the connection is lost or comes back,
 * since changes made meanwhile were never heard. One connection for both keeps an instance's
 * connections at its pools' sizes + 1.
 */
export function createOutboxListener(options: { url: string; logger: Logger; backoff?: Backoff }): OutboxWakeups & RegisterChanges {
  const logger = options.logger.child({ component: 'outbox-listener' });
  const backoff = options.backoff ?? RECONNECT_BACKOFF;
  const stopping = new AbortController();
  let client: pg.Client | undefined;
  let reconnecting = false;
  let onWake: (laCode: string | undefined) => void = () => undefined;
  const registerWatchers: (() => void)[] = [];
  const registerChanged = () => registerWatchers.forEach((watch) => watch());

  async function connectOnce(): Promise<pg.Client> {
    const next = new pg.Client({ connectionString: options.url, application_name: 'cpis-listener', keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // Errors end the connection; the 'end' handler (once adopted) or the loop reports them, once.
    next.on('error', () => undefined);
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}; LISTEN ${REGISTER_CHANNEL}`);
      return next;
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
  }

  function adopt(next: pg.Client): void {
    client = next;
    next.on('notification', (message) => (message.channel === REGISTER_CHANNEL ? registerChanged() : onWake(message.payload || undefined)));
    next.once('end', () => {
      if (client !== next) return;
      client = undefined;
      registerChanged();
      if (stopping.signal.aborted) return;
      logger.warn('listener connection lost; reconnecting');
      void reconnect();
    });
  }

  async function reconnect(): Promise<void> {
    if (reconnecting || stopping.signal.aborted) return;
    reconnecting = true;
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      const delayMs = backoffDelayMs(attempt, backoff);
      const slept = await sleep(delayMs, true, { signal: stopping.signal, ref: false }).catch(() => false);
      if (!slept) break;
      try {
        const next = await connectOnce();
        if (stopping.signal.aborted) {
          await next.end().catch(() => undefined);
          break;
        }
        reconnecting = false;
        adopt(next);
        logger.info({ attempt }, 'listener reconnected');
        registerChanged();
        onWake(undefined);
        return;
      } catch (error) {
        logger.warn({ attempt, code: codeOf(error), nextAttemptWithinMs: backoffDelayMs(attempt + 1, backoff, () => 1) }, 'listener reconnect failed');
      }
    }
    reconnecting = false;
  }

  return {
    async start(handler) {
      onWake = handler;
      try {
        adopt(await connectOnce());
      } catch (error) {
        // Not ready until it connects; the loop keeps trying meanwhile.
        logger.warn({ code: codeOf(error) }, 'listener could not connect; retrying');
        void reconnect();
      }
    },
    async stop() {
      stopping.abort();
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
    isListening: () => client !== undefined,
    watchRegister: (watch) => void registerWatchers.push(watch),
  };
}
