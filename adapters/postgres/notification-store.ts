import type pg from 'pg';
import type { Notification, NotificationBody, NotificationType } from '../../src/domain/notification.ts';
import type { NotificationStore } from '../../src/ports.ts';

type Row = {
  event_number: string;
  type: NotificationType;
  occurred_at: Date;
  body: NotificationBody;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
};

export const NOTIFICATION_COLUMNS = 'event_number, type, occurred_at, body, acknowledged_at, acknowledged_by';

/** Maps an outbox row to the notification an LA receives. */
export const toNotification = (r: Row): Notification => ({
  eventNumber: Number(r.event_number),
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  ...r.body,
  acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
  acknowledgedBy: r.acknowledged_by,
});

/** The mailbox over the outbox table. */
export function createPostgresNotificationStore(pool: pg.Pool): NotificationStore {
  return {
    async list(laCode, after, limit) {
      const { rows } = await pool.query<Row>(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE la_code = $1 AND event_number > $2 ORDER BY event_number LIMIT $3`,
        [laCode, after, limit],
      );
      return rows.map(toNotification);
    },
    async acknowledge(laCode, selector, by, at) {
      const { rows } = await pool.query<{ event_number: string }>(
        `UPDATE notifications SET acknowledged_at = $3, acknowledged_by = $4
         WHERE la_code = $1 AND acknowledged_at IS NULL AND ${'upTo' in selector ? 'event_number <= $2' : 'event_number = ANY($2)'}
         RETURNING event_number`,
        [laCode, 'upTo' in selector ? selector.upTo : selector.eventNumbers, at, by],
      );
      return rows.map((r) => Number(r.event_number)).sort((a, b) => a - b);
    },
    async unacknowledgedByLa() {
      const { rows } = await pool.query<{ la_code: string; n: string }>(
        'SELECT la_code, count(*) AS n FROM notifications WHERE acknowledged_at IS NULL GROUP BY la_code',
      );
      return new Map(rows.map((r) => [r.la_code, Number(r.n)]));
    },
    async lastEventNumber(laCode) {
      const { rows } = await pool.query<{ last_event_number: string }>('SELECT last_event_number FROM la_event_counters WHERE la_code = $1', [laCode]);
      return rows[0] ? Number(rows[0].last_event_number) : 0;
    },
  };
}
