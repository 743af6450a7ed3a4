import type pg from 'pg';
import type { Notification, NotificationBody, NotificationType, PlanRef } from '../../src/domain/notification.ts';
import type { NotificationAck, NotificationStore } from '../../src/ports.ts';
import { auditValues } from './audit.ts';

type Row = {
  event_number: string;
  type: NotificationType;
  occurred_at: Date;
  body: NotificationBody;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  acknowledged_by_name: string | null;
  escalated_at: Date | null;
  escalations: number;
};

export const NOTIFICATION_COLUMNS = 'event_number, type, occurred_at, body, acknowledged_at, acknowledged_by, acknowledged_by_name, escalated_at, escalations';

// Notifications written before migration 0017 name their plans without the LA's reference and legal status, and no team.
const planRef = (p: Partial<PlanRef>) => ({ lacLegalStatus: null, localId: null, ...p }) as PlanRef;

/** Maps an outbox row to the notification an LA receives. */
export const toNotification = (r: Row): Notification => ({
  eventNumber: Number(r.event_number),
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  ...r.body,
  plan: planRef(r.body.plan),
  plans: r.body.plans.map((p) => ({ ...planRef(p), status: p.status })),
  routedTo: r.body.routedTo ?? null,
  acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
  acknowledgedBy: r.acknowledged_by,
  acknowledgedByName: r.acknowledged_by_name,
  escalatedAt: r.escalated_at?.toISOString() ?? null,
  escalations: r.escalations,
});

// One statement, so one transaction: the acknowledgement and its audit row (which names the event
// numbers it marked) commit together or not at all. $1–$13 are the audit row, as in INSERT_AUDIT;
// acknowledge_notifications() (migration 0017) marks the rest of each alert with it and wakes the LA's streams.
const ACKNOWLEDGE = `
WITH acked AS (
  SELECT event_number FROM acknowledge_notifications($14, $1, $4, $5, $15, $16)
), audited AS (
  INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
    organisation_name, setting, nhs_number, unscheduled, request_id, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, COALESCE($13::jsonb, '{}'::jsonb) ||
    jsonb_build_object('eventNumbers', COALESCE((SELECT jsonb_agg(event_number ORDER BY event_number) FROM acked), '[]'::jsonb)))
)
SELECT event_number FROM acked`;

// ?team=: the team's own notifications and those routed to no team (the LA's, for everyone).
const LIST = (byTeam: boolean) => `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
  WHERE la_code = $1 AND event_number > $2 ${byTeam ? 'AND (team_code = $4 OR team_code IS NULL)' : ''}
  ORDER BY event_number LIMIT $3`;

// Whole acknowledgements, the first $3 of them after $2: one acknowledgement may mark several notifications.
const ACKNOWLEDGEMENTS = `
WITH page AS (
  SELECT DISTINCT ack_seq FROM notifications WHERE la_code = $1 AND ack_seq > $2 ORDER BY ack_seq LIMIT $3
)
SELECT n.ack_seq, array_agg(n.event_number ORDER BY n.event_number) AS event_numbers, min(n.acknowledged_at) AS acknowledged_at,
       min(n.acknowledged_by) AS acknowledged_by, min(n.acknowledged_by_name) AS acknowledged_by_name
FROM notifications n JOIN page USING (ack_seq)
WHERE n.la_code = $1
GROUP BY n.ack_seq ORDER BY n.ack_seq`;

/** The mailbox over the outbox table. */
export function createPostgresNotificationStore(pool: pg.Pool): NotificationStore {
  return {
    async list(laCode, after, limit, filter = {}) {
      const values: unknown[] = [laCode, after, limit];
      if (filter.team !== undefined) values.push(filter.team);
      const { rows } = await pool.query<Row>(LIST(filter.team !== undefined), values);
      return rows.map(toNotification);
    },
    async search(laCode, query) {
      const values: unknown[] = [laCode, query.limit];
      const where = ['la_code = $1'];
      const param = (value: unknown) => `$${values.push(value)}`;
      if (query.before !== undefined) where.push(`event_number < ${param(query.before)}`);
      if (query.team !== undefined) where.push(`(team_code = ${param(query.team)} OR team_code IS NULL)`);
      if (query.nhsNumber !== undefined) where.push(`nhs_number = ${param(query.nhsNumber)}::bpchar`);
      if (query.name !== undefined) {
        // Every word given must start one of the child's names, in any order: "smi al" finds Alex Smith.
        for (const word of query.name.toLowerCase().split(/\s+/).filter(Boolean)) {
          const p = param(word.replace(/[\\%_]/g, (c) => `\\${c}`));
          where.push(`EXISTS (SELECT 1 FROM regexp_split_to_table(lower((body->'subject'->>'givenNames') || ' ' || (body->'subject'->>'familyName')), '[\\s-]+') w WHERE w LIKE ${p} || '%')`);
        }
      }
      const { rows } = await pool.query<Row>(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE ${where.join(' AND ')} ORDER BY event_number DESC LIMIT $2`, values,
      );
      return rows.map(toNotification);
    },
    async acknowledge(laCode, selector, audit) {
      const { rows } = await pool.query<{ event_number: string }>(ACKNOWLEDGE, [
        ...auditValues(audit), laCode, 'upTo' in selector ? selector.upTo : null, 'upTo' in selector ? null : selector.eventNumbers,
      ]);
      return rows.map((r) => Number(r.event_number)).sort((a, b) => a - b);
    },
    async acknowledgementsAfter(laCode, after, limit) {
      const { rows } = await pool.query<{
        ack_seq: string; event_numbers: string[]; acknowledged_at: Date; acknowledged_by: string; acknowledged_by_name: string | null;
      }>(ACKNOWLEDGEMENTS, [laCode, after, limit]);
      return rows.map((r): NotificationAck => ({
        ackNumber: Number(r.ack_seq),
        eventNumbers: r.event_numbers.map(Number),
        acknowledgedAt: r.acknowledged_at.toISOString(),
        acknowledgedBy: r.acknowledged_by,
        acknowledgedByName: r.acknowledged_by_name,
      }));
    },
    async unacknowledgedByLa() {
      const { rows } = await pool.query<{ la_code: string; n: string }>(
        'SELECT la_code, count(*) AS n FROM notifications WHERE acknowledged_at IS NULL GROUP BY la_code',
      );
      return new Map(rows.map((r) => [r.la_code, Number(r.n)]));
    },
    async lastEventNumber(laCode) {
      return (await this.counters(laCode)).lastEventNumber;
    },
    async counters(laCode) {
      return (await this.countersOf([laCode])).get(laCode) ?? { lastEventNumber: 0, lastAckNumber: 0 };
    },
    async countersOf(laCodes) {
      const { rows } = await pool.query<{ la_code: string; last_event_number: string; last_ack_seq: string }>(
        'SELECT la_code, last_event_number, last_ack_seq FROM la_event_counters WHERE la_code = ANY ($1::text[])', [laCodes],
      );
      return new Map(rows.map((r) => [r.la_code, { lastEventNumber: Number(r.last_event_number), lastAckNumber: Number(r.last_ack_seq) }]));
    },
  };
}
