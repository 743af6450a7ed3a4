import type { Notification } from '../domain/notification.ts';
import type { Metrics, NotificationStore } from '../ports.ts';

/** One open stream: the LA it belongs to and the last event number it has been sent. */
export type Subscriber = { laCode: string; lastSent: number; send(notification: Notification): void };

const PAGE = 500;

/**
 * Delivery for one LA on this instance. Every step (a subscriber's replay, a live pump) runs in one
 * queue, reading the outbox after a cursor. Per-LA numbers commit in order (the counter row lock), so
 * what a read sees is always a prefix: a subscriber that replayed to the end and then joins misses
 * nothing, and a row it already has is skipped, never sent twice.
 */
export function createLaChannel(laCode: string, store: Pick<NotificationStore, 'list'>, onError: (error: unknown) => void, metrics: Pick<Metrics, 'notificationDelivered'>) {
  const subscribers = new Set<Subscriber>();
  const departed = new WeakSet<Subscriber>();
  let joining = 0;
  let cursor: number | undefined;
  let queue: Promise<void> = Promise.resolve();
  let pumpQueued = false;

  const enqueue = (task: () => Promise<void>) => (queue = queue.then(task).catch(onError));

  async function readAfter(after: number, deliver: (n: Notification) => void): Promise<number> {
    let last = after;
    for (;;) {
      const page = await store.list(laCode, last, PAGE);
      for (const notification of page) deliver(notification);
      if (page.length) last = (page.at(-1) as Notification).eventNumber;
      if (page.length < PAGE) return last;
    }
  }

  const sendTo = (sub: Subscriber, n: Notification) => {
    if (n.eventNumber <= sub.lastSent) return;
    sub.lastSent = n.eventNumber;
    sub.send(n);
    metrics.notificationDelivered(laCode, (Date.now() - Date.parse(n.occurredAt)) / 1000);
  };

  return {
    laCode,
    size: () => subscribers.size + joining,
    /** Replays everything after the subscriber's number, then adds it to the live set. */
    join(sub: Subscriber): Promise<void> {
      joining++;
      return enqueue(async () => {
        try {
          await readAfter(sub.lastSent, (n) => sendTo(sub, n));
          if (departed.has(sub)) return;
          subscribers.add(sub);
          cursor = cursor === undefined ? sub.lastSent : Math.min(cursor, sub.lastSent);
        } finally {
          joining--;
        }
      });
    },
    leave(sub: Subscriber): void {
      departed.add(sub);
      subscribers.delete(sub);
    },
    /** Sends every new row to every live subscriber; wake-ups that arrive meanwhile fold into one more pump. */
    pump(): void {
      if (pumpQueued) return;
      pumpQueued = true;
      void enqueue(async () => {
        pumpQueued = false;
        if (cursor === undefined || subscribers.size === 0) return;
        cursor = await readAfter(cursor, (n) => {
          for (const sub of subscribers) sendTo(sub, n);
        });
      });
    },
  };
}

export type LaChannel = ReturnType<typeof createLaChannel>;
