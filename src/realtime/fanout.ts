import type { Logger } from 'pino';
import type { Metrics, NotificationStore, OutboxWakeups } from '../ports.ts';
import { createLaChannel, type ChannelLimits, type DeliveryHealth, type LaChannel, type Subscriber } from './la-channel.ts';
import { errorForLog } from '../logger.ts';

/** Reports the outbox becoming unreadable once, and once again when it can be read: not a line per LA per sweep. */
function createDeliveryHealth(logger: Logger): DeliveryHealth {
  let failing = false;
  return {
    failed(error) {
      if (failing) return;
      failing = true;
      logger.error({ err: errorForLog(error) }, 'notification delivery paused: the outbox cannot be read; retrying on every wake-up and sweep');
    },
    succeeded() {
      if (!failing) return;
      failing = false;
      logger.info('notification delivery resumed');
    },
  };
}

/**
 * Fans the outbox out to this instance's sockets. LISTEN/NOTIFY only says "look now"; a sweep on a
 * timer looks anyway, so a lost wake-up delays a notification by at most one sweep, never loses it.
 * A reconnected listener wakes every LA.
 */
export function createFanout(deps: {
  store: Pick<NotificationStore, 'list' | 'acknowledgementsAfter' | 'countersOf'>;
  wakeups: OutboxWakeups;
  logger: Logger;
  sweepMs: number;
  metrics: Metrics;
  limits: ChannelLimits;
}) {
  const channels = new Map<string, LaChannel>();
  const health = createDeliveryHealth(deps.logger);
  let sweep: NodeJS.Timeout | undefined;

  // A wake-up names the LA whose outbox grew, or "<LA>:ack" when its notifications were acknowledged (migration 0017).
  const wake = (payload: string | undefined) => {
    if (payload === undefined) {
      for (const channel of channels.values()) {
        channel.pump();
        channel.pumpAcks();
      }
    } else if (payload.endsWith(':ack')) channels.get(payload.slice(0, -':ack'.length))?.pumpAcks();
    else channels.get(payload)?.pump();
  };
  // The sweep reads every LA's counters in one statement, and then only the outboxes and
  // acknowledgements that moved past what was sent: reading each LA's outbox and acknowledgements in
  // turn made a burst of two queries per LA every sweep, which the live wake-ups queued behind.
  // Should the counters not be readable, every LA is read as a wake-up would, and reports its health.
  // One sweep at a time: a slow database must not stack them up, one per interval.
  let sweeping = false;
  const sweepOnce = async () => {
    if (channels.size === 0 || sweeping) return;
    sweeping = true;
    let counters;
    try {
      counters = await deps.store.countersOf([...channels.keys()]);
    } catch {
      return wake(undefined);
    } finally {
      sweeping = false;
    }
    for (const [laCode, channel] of channels) {
      const behind = channel.behind(counters.get(laCode));
      if (behind.events) channel.pump();
      if (behind.acks) channel.pumpAcks();
    }
  };
  const channelOf = (laCode: string) => {
    let channel = channels.get(laCode);
    if (!channel) {
      channel = createLaChannel(laCode, { store: deps.store, metrics: deps.metrics, health, limits: deps.limits });
      channels.set(laCode, channel);
    }
    return channel;
  };

  return {
    async start(): Promise<void> {
      await deps.wakeups.start(wake);
      sweep = setInterval(() => void sweepOnce(), deps.sweepMs).unref();
    },
    /** Replays after the subscriber's number, then keeps it live; rejects when that cannot be done (close the socket). */
    subscribe(sub: Subscriber, counters: { lastEventNumber: number; lastAckNumber: number }): Promise<void> {
      const channel = channelOf(sub.laCode);
      channel.noteLastEventNumber(counters.lastEventNumber);
      channel.noteAckNumber(counters.lastAckNumber);
      return channel.join(sub);
    },
    unsubscribe(sub: Subscriber): void {
      const channel = channels.get(sub.laCode);
      channel?.leave(sub);
      if (channel && channel.size() === 0) channels.delete(sub.laCode);
    },
    /** What a heartbeat may say for the LA: nothing while its outbox cannot be read here. */
    statusOf(laCode: string): { healthy: boolean; lastEventNumber: number } {
      return channels.get(laCode)?.status() ?? { healthy: true, lastEventNumber: 0 };
    },
    isListening: () => deps.wakeups.isListening(),
    async stop(): Promise<void> {
      clearInterval(sweep);
      await deps.wakeups.stop();
    },
  };
}

export type Fanout = ReturnType<typeof createFanout>;
