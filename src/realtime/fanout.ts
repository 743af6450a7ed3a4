import type { Logger } from 'pino';
import type { Metrics, NotificationStore, OutboxWakeups } from '../ports.ts';
import { createLaChannel, type LaChannel, type Subscriber } from './la-channel.ts';
import { errorForLog } from '../logger.ts';

/**
 * Fans the outbox out to this instance's sockets. LISTEN/NOTIFY only says "look now"; a sweep on a
 * timer looks anyway, so a lost wake-up delays a notification by at most one sweep, never loses it.
 */
export function createFanout(deps: { store: Pick<NotificationStore, 'list'>; wakeups: OutboxWakeups; logger: Logger; sweepMs: number; metrics: Metrics }) {
  const channels = new Map<string, LaChannel>();
  let sweep: NodeJS.Timeout | undefined;
  const onError = (error: unknown) => deps.logger.error({ err: errorForLog(error) }, 'notification delivery failed; retrying on the next wake-up');

  const wake = (laCode: string | undefined) => {
    if (laCode === undefined) for (const channel of channels.values()) channel.pump();
    else channels.get(laCode)?.pump();
  };

  return {
    async start(): Promise<void> {
      await deps.wakeups.start(wake);
      sweep = setInterval(() => wake(undefined), deps.sweepMs).unref();
    },
    /** Replays after the subscriber's number, then keeps it live. */
    subscribe(sub: Subscriber): Promise<void> {
      let channel = channels.get(sub.laCode);
      if (!channel) {
        channel = createLaChannel(sub.laCode, deps.store, onError, deps.metrics);
        channels.set(sub.laCode, channel);
      }
      return channel.join(sub);
    },
    unsubscribe(sub: Subscriber): void {
      const channel = channels.get(sub.laCode);
      channel?.leave(sub);
      if (channel && channel.size() === 0) channels.delete(sub.laCode);
    },
    isListening: () => deps.wakeups.isListening(),
    async stop(): Promise<void> {
      clearInterval(sweep);
      await deps.wakeups.stop();
    },
  };
}

export type Fanout = ReturnType<typeof createFanout>;
