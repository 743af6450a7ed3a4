import { setTimeout as sleep } from 'node:timers/promises';
import type { Notification } from '../domain/notification.ts';
import type { Metrics, NotificationAck, NotificationStore } from '../ports.ts';
import { CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN_LATER } from './close-codes.ts';

/** One open stream: the LA it belongs to, the last event number it has been sent, and its socket. */
export type Subscriber = {
  laCode: string;
  lastSent: number;
  /** Only this duty team's notifications, and those routed to no team (?team=); undefined: all of the LA's. */
  team?: string;
  send(notification: Notification): void;
  /** An acknowledgement of notifications it has been sent. */
  sendAck(ack: NotificationAck): void;
  /** Bytes queued for the client and not yet written to the network. */
  buffered(): number;
  /** Ends the stream with a close code and a reason the client can act on. */
  close(code: number, reason: string): void;
};

/** How the outbox reads of every channel are going: failures and recoveries, reported once each. */
export type DeliveryHealth = { failed(error: unknown): void; succeeded(): void };

export type ChannelLimits = { maxBufferedBytes: number; slowConsumerMs: number };

/** A subscriber whose client stayed above its buffer limit for longer than allowed. */
export class SlowConsumerError extends Error {
  constructor() {
    super('stream client read too slowly');
    this.name = 'SlowConsumerError';
  }
}

const PAGE = 500;
// Acknowledgements remembered for notifications not yet sent to a subscriber when they were read (see sendTo).
const RECENT_ACKS = 10_000;
// How often a paused send looks again whether the client has read.
const DRAIN_POLL_MS = 25;

/** Closes a stream whose delivery failed, saying where to resume. */
export function closeForFailure(sub: Subscriber, error: unknown): void {
  if (error instanceof SlowConsumerError) sub.close(CLOSE_TOO_SLOW, `too slow: reconnect with after=${sub.lastSent}`);
  else sub.close(CLOSE_TRY_AGAIN_LATER, `delivery interrupted: reconnect with after=${sub.lastSent}`);
}

/**
 * Delivery for one LA on this instance. Live sends run in one queue, reading the outbox after a
 * shared cursor. Per-LA numbers commit in order (the counter row lock), so a read always sees a prefix.
 * A new subscriber, or a live one whose client stopped reading, first catches up on its own, at the
 * pace its client reads, then joins the live set inside the queue after reading the last rows: no
 * row falls between, and a row it already has is skipped, never sent twice.
 */
export function createLaChannel(
  laCode: string,
  deps: { store: Pick<NotificationStore, 'list' | 'acknowledgementsAfter'>; metrics: Pick<Metrics, 'notificationDelivered'>; health: DeliveryHealth; limits: ChannelLimits },
) {
  const live = new Set<Subscriber>();
  const catchingUp = new Set<Subscriber>();
  const departed = new WeakSet<Subscriber>();
  const { maxBufferedBytes, slowConsumerMs } = deps.limits;
  let cursor: number | undefined;
  let ackCursor: number | undefined;
  const recentAcks = new Map<number, NotificationAck>();
  let known = 0;
  let healthy = true;
  let queue: Promise<unknown> = Promise.resolve();
  let pumpQueued = false;

  const inQueue = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  };

  async function read(after: number): Promise<Notification[]> {
    let page: Notification[];
    try {
      page = await deps.store.list(laCode, after, PAGE);
    } catch (error) {
      healthy = false;
      deps.health.failed(error);
      throw error;
    }
    healthy = true;
    deps.health.succeeded();
    known = Math.max(known, page.at(-1)?.eventNumber ?? 0);
    return page;
  }

  const sendTo = (sub: Subscriber, n: Notification) => {
    if (n.eventNumber <= sub.lastSent) return;
    sub.lastSent = n.eventNumber;
    if (sub.team !== undefined && n.routedTo && n.routedTo.teamCode !== sub.team) return;
    // Read before an acknowledgement that was then sent to this subscriber only for what it already had: sent acknowledged.
    const ack = n.acknowledgedAt === null ? recentAcks.get(n.eventNumber) : undefined;
    sub.send(ack ? { ...n, acknowledgedAt: ack.acknowledgedAt, acknowledgedBy: ack.acknowledgedBy, acknowledgedByName: ack.acknowledgedByName } : n);
    deps.metrics.notificationDelivered(laCode, (Date.now() - Date.parse(n.occurredAt)) / 1000);
  };

  async function waitForRoom(sub: Subscriber): Promise<void> {
    const since = Date.now();
    while (sub.buffered() > maxBufferedBytes && !departed.has(sub)) {
      if (Date.now() - since > slowConsumerMs) throw new SlowConsumerError();
      await sleep(DRAIN_POLL_MS);
    }
  }

  /** Reads and sends pages after the subscriber's number until the end, pausing while its client is behind. */
  async function replay(sub: Subscriber, paced: boolean): Promise<void> {
    for (;;) {
      const page = await read(sub.lastSent);
      for (const n of page) {
        if (paced && sub.buffered() > maxBufferedBytes) await waitForRoom(sub);
        if (departed.has(sub)) return;
        sendTo(sub, n);
      }
      if (page.length < PAGE) return;
    }
  }

  async function catchUp(sub: Subscriber): Promise<void> {
    catchingUp.add(sub);
    try {
      await replay(sub, true);
      if (departed.has(sub)) return;
      // The last rows, read where live sends are ordered: what commits after this, the pump sends.
      await inQueue(async () => {
        if (departed.has(sub)) return;
        await replay(sub, false);
        live.add(sub);
        cursor = cursor === undefined ? sub.lastSent : Math.min(cursor, sub.lastSent);
      });
    } finally {
      catchingUp.delete(sub);
    }
  }

  /** Sends an acknowledgement to every subscriber, each told only of the notifications it has been sent. */
  function spreadAck(ack: NotificationAck): void {
    for (const n of ack.eventNumbers) {
      recentAcks.delete(n);
      recentAcks.set(n, ack);
    }
    while (recentAcks.size > RECENT_ACKS) recentAcks.delete(recentAcks.keys().next().value as number);
    for (const sub of [...live, ...catchingUp]) {
      const sent = ack.eventNumbers.filter((n) => n <= sub.lastSent);
      if (sent.length > 0) sub.sendAck(sent.length === ack.eventNumbers.length ? ack : { ...ack, eventNumbers: sent });
    }
  }

  function fallBehind(sub: Subscriber): void {
    live.delete(sub);
    catchUp(sub).catch((error: unknown) => closeForFailure(sub, error));
  }

  return {
    laCode,
    size: () => live.size + catchingUp.size,
    /** Replays everything after the subscriber's number, then makes it live; rejects if the outbox cannot be read or the client is too slow. */
    join: (sub: Subscriber): Promise<void> => catchUp(sub),
    leave(sub: Subscriber): void {
      departed.add(sub);
      live.delete(sub);
      catchingUp.delete(sub);
    },
    /** Sends every new row to every live subscriber; wake-ups that arrive meanwhile fold into one more pump. */
    pump(): void {
      if (pumpQueued) return;
      pumpQueued = true;
      // A failed read is reported through `health`; the next wake-up or sweep reads again from the cursor.
      inQueue(async () => {
        pumpQueued = false;
        if (cursor === undefined || live.size === 0) return;
        for (;;) {
          const page = await read(cursor);
          for (const n of page) {
            for (const sub of live) {
              if (sub.buffered() > maxBufferedBytes) fallBehind(sub);
              else sendTo(sub, n);
            }
          }
          cursor = page.at(-1)?.eventNumber ?? cursor;
          if (page.length < PAGE) return;
        }
      }).catch(() => undefined);
    },
    /**
     * Sends every acknowledgement made since the last one sent (on any instance) to every subscriber.
     * In the queue with live sends, so a live subscriber hears of an acknowledgement after the notification.
     */
    pumpAcks(): void {
      inQueue(async () => {
        if (ackCursor === undefined || live.size + catchingUp.size === 0) return;
        for (;;) {
          let acks: NotificationAck[];
          try {
            acks = await deps.store.acknowledgementsAfter(laCode, ackCursor, PAGE);
          } catch (error) {
            deps.health.failed(error);
            return;
          }
          for (const ack of acks) {
            spreadAck(ack);
            ackCursor = ack.ackNumber;
          }
          if (acks.length < PAGE) return;
        }
      }).catch(() => undefined);
    },
    /**
     * What a sweep must read, given the LA's counters as committed: the outbox if it holds rows past
     * the cursor (or the last read failed, so that health is checked again), the acknowledgements if
     * there are newer ones than the last sent.
     */
    behind(counters: { lastEventNumber: number; lastAckNumber: number } | undefined): { events: boolean; acks: boolean } {
      const last = counters ?? { lastEventNumber: 0, lastAckNumber: 0 };
      return {
        events: !healthy || (cursor !== undefined && last.lastEventNumber > cursor),
        acks: ackCursor !== undefined && last.lastAckNumber > ackCursor,
      };
    },
    /** The LA's last acknowledgement number when a subscriber joined: what it already knows of, from the rows it is replayed. */
    noteAckNumber(ackNumber: number): void {
      ackCursor ??= ackNumber;
    },
    /** Whether the last outbox read worked, and the LA's highest event number seen here. */
    status: () => ({ healthy, lastEventNumber: known }),
    /** The LA's last event number as read elsewhere (the counter, at an upgrade). */
    noteLastEventNumber(eventNumber: number): void {
      known = Math.max(known, eventNumber);
    },
  };
}

export type LaChannel = ReturnType<typeof createLaChannel>;
