import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffDelayMs } from './backoff.ts';
import { isAlive, readPid } from './pid-file.ts';

// How often the supervisor looks whether the server is still there.
const CHECK_EVERY_MS = 1_000;

/**
 * Starts the embedded server again, on the same port and data, when it exits without being asked
 * (killed, or crashed): the zero-setup default must come back from that as a managed PostgreSQL
 * would. One restart loop, capped jittered backoff, one log line per attempt. The instance's pools
 * and listener reconnect by themselves once it accepts connections.
 */
export function superviseEmbedded(options: { pidFile: string; start: () => Promise<void>; logger: Logger }): { stop(): void } {
  const stopping = new AbortController();
  const { logger } = options;
  const restart = async () => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        await options.start();
        logger.info({ attempt }, 'embedded PostgreSQL restarted');
        return;
      } catch {
        const retryInMs = backoffDelayMs(attempt + 1);
        logger.warn({ attempt, retryInMs }, 'embedded PostgreSQL restart failed; trying again');
        await sleep(retryInMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  };
  void (async () => {
    let pid = await readPid(options.pidFile);
    while (!stopping.signal.aborted) {
      await sleep(CHECK_EVERY_MS, undefined, { signal: stopping.signal, ref: false }).catch(() => undefined);
      if (stopping.signal.aborted) return;
      if (pid !== undefined && isAlive(pid)) continue;
      logger.error({ pid }, 'embedded PostgreSQL exited without being asked; restarting it');
      await restart();
      pid = await readPid(options.pidFile);
    }
  })();
  return { stop: () => stopping.abort() };
}
