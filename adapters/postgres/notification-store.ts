import type pg from 'pg';
import type { Notification, NotificationBody, NotificationType } from '../../src/domain/notification.ts';
import type { NotificationStore } from '../../src/ports.ts';
import { auditValues } from './audit.ts';

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

// One statement, so one transaction: the acknowledgement and its audit row (which names the event
// numbers it marked) commit together or not at all. $1–$13 are the audit row, as in INSERT_AUDIT.
const acknowledgeStatement = (upTo: boolean) => `
WITH acked AS (
  UPDATE notifications SET acknowledged_at = $1, acknowledged_by = $4
  WHERE la_code = $14 AND acknowledged_at IS NULL AND ${upTo ? 'event_number <= $15' : 'event_number = ANY($15)'}
  RETURNING event_number
), audited AS (
  INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
    organisation_name, setting, nhs_number, unscheduled, request_id, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, COALESCE($13::jsonb, '{}'::jsonb) ||
    jsonb_build_object('eventNumbers', COALESCE((SELECT jsonb_agg(event_number ORDER BY event_number) FROM acked), '[]'::jsonb)))
)
SELECT event_number FROM acked`;

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
    async acknowledge(laCode, selector, audit) {
      const { rows } = await pool.query<{ event_number: string }>(acknowledgeStatement('upTo' in selector), [
        ...auditValues(audit), laCode, 'upTo' in selector ? selector.upTo : selector.eventNumbers,
      ]);
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
