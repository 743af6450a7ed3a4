import type pg from 'pg';

export type QueuedNotification = { laCode: string; nhsNumber: string; body: unknown };

const QUEUE = `INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
  VALUES ($1, next_event_number($1), $2, $3, $4, $5) RETURNING event_number`;

/**
 * Queues notifications of one type in the caller's transaction, each with its LA's next event number.
 * In LA-code order, as record_access() takes the same counter locks, so that two writers touching the
 * same LAs cannot deadlock. Returns the LA codes and event numbers, in that order.
 */
export async function queueNotifications(
  client: pg.PoolClient,
  type: 'inactive-nhs-number' | 'plan-ended-over-18' | 'was-not-brought',
  at: Date,
  notifications: readonly QueuedNotification[],
): Promise<{ laCode: string; eventNumber: number }[]> {
  const queued: { laCode: string; eventNumber: number }[] = [];
  for (const n of notifications.toSorted((a, b) => (a.laCode < b.laCode ? -1 : a.laCode > b.laCode ? 1 : 0))) {
    const { rows } = await client.query<{ event_number: string }>(QUEUE, [n.laCode, type, at, n.nhsNumber, JSON.stringify(n.body)]);
    queued.push({ laCode: n.laCode, eventNumber: Number(rows[0]?.event_number) });
  }
  return queued;
}
