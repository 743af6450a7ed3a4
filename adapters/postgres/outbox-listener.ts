import pg from 'pg';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboxWakeups } from '../../src/ports.ts';

const CHANNEL = 'cpis_outbox';

/**
 * LISTENs for outbox wake-ups on a dedicated connection and reconnects when it drops. After a
 * reconnect it wakes every LA, since notifications may have been missed while it was away.
 */
export function createOutboxListener(options: { url: string; logger: Logger }): OutboxWakeups {
  const logger = options.logger.child({ component: 'outbox-listener' });
  let client: pg.Client | undefined;
  let listening = false;
  let stopped = false;
  let onWake: (laCode: string | undefined) => void = () => undefined;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: options.url, application_name: 'cpis-listener' });
    next.on('notification', (message) => onWake(message.payload || undefined));
    next.on('error', (error) => logger.warn({ code: (error as { code?: string }).code }, 'listener connection error'));
    next.on('end', () => {
      listening = false;
      if (!stopped) void reconnect();
    });
    await next.connect();
    await next.query(`LISTEN ${CHANNEL}`);
    client = next;
    listening = true;
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 1; !stopped; attempt++) {
      await sleep(Math.min(5_000, 100 * 2 ** attempt));
      try {
        await connect();
        logger.info({ attempt }, 'listener reconnected');
        onWake(undefined);
        return;
      } catch {
        logger.warn({ attempt }, 'listener reconnect failed');
      }
    }
  }

  return {
    async start(handler) {
      onWake = handler;
      await connect();
    },
    async stop() {
      stopped = true;
      listening = false;
      await client?.end().catch(() => undefined);
    },
    isListening: () => listening,
  };
}
