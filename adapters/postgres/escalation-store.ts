import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AlertType, DueCutoffs, Escalation, WaitingAlert } from '../../src/domain/escalation.ts';
import type { EscalationStore, EscalationWork } from '../../src/ports.ts';
import { insertManySql } from './audit-batch.ts';
import { ORGANISATION_COLUMNS, toOrganisation } from './organisation-store.ts';
import { inTransaction } from './pool.ts';

type OrganisationRow = Parameters<typeof toOrganisation>[0];

// A waiting alert (domain/escalation.ts), in the words of migration 0018's index, which holds only these rows.
const WAITING = `acknowledged_at IS NULL AND team_code IS NOT NULL AND type IN ('access', 'was-not-brought')`;

const WAITING_LAS = `
SELECT ${ORGANISATION_COLUMNS.split(',').map((c) => `o.${c.trim()}`).join(', ')}
FROM (SELECT la_code, min(COALESCE(escalated_at, occurred_at)) AS since FROM notifications WHERE ${WAITING} GROUP BY la_code) w
JOIN organisations o ON o.code = w.la_code
WHERE o.duty_teams IS NOT NULL
ORDER BY w.since, o.code`;

// isDue (domain/escalation.ts) row by row: the team's cutoffs ($2–$4, one element per team), else those of a removed team ($5, $6).
const DUE_WHERE = `n.la_code = $1 AND n.acknowledged_at IS NULL AND n.team_code IS NOT NULL AND n.type IN ('access', 'was-not-brought')
  AND CASE WHEN n.escalated_at IS NULL THEN n.occurred_at <= COALESCE(c.occurred_by, $5) ELSE n.escalated_at <= COALESCE(c.escalated_by, $6) END`;
const DUE_FROM = `notifications n
  LEFT JOIN unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS c(team_code, occurred_by, escalated_by) ON c.team_code = n.team_code`;

const ANY_DUE = `SELECT EXISTS (SELECT 1 FROM ${DUE_FROM} WHERE ${DUE_WHERE}) AS due`;

const DUE = `
SELECT n.event_number, n.type, n.occurred_at, n.nhs_number, n.body, n.escalated_at, n.escalations
FROM ${DUE_FROM} WHERE ${DUE_WHERE}
ORDER BY n.event_number
LIMIT $7
FOR UPDATE OF n`;

// One statement: the LA's next event numbers (its counter row is already locked), the escalations in
// the order given, and their originals marked. The insert wakes the LA's streams (migration 0003).
const ESCALATE = `
WITH items AS (
  SELECT (i.v->>'escalates')::bigint AS escalates, (i.v->>'nhsNumber')::bpchar AS nhs, i.v->'body' AS body, i.ord
  FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS i(v, ord)
), counter AS (
  UPDATE la_event_counters c SET last_event_number = c.last_event_number + jsonb_array_length($3::jsonb)
  WHERE c.la_code = $1 RETURNING c.last_event_number AS top
), queued AS (
  INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
  SELECT $1, counter.top - jsonb_array_length($3::jsonb) + items.ord, 'escalation', $2, items.nhs, items.body FROM counter, items
  RETURNING event_number, escalates_event
), marked AS (
  UPDATE notifications n SET escalated_at = $2, escalations = n.escalations + 1
  FROM items WHERE n.la_code = $1 AND n.event_number = items.escalates
)
SELECT event_number, escalates_event FROM queued ORDER BY event_number`;

type DueRow = {
  event_number: string; type: AlertType; occurred_at: Date; nhs_number: string; body: WaitingAlert['body'];
  escalated_at: Date | null; escalations: number;
};

const toAlert = (r: DueRow): WaitingAlert => ({
  eventNumber: Number(r.event_number), type: r.type, occurredAt: r.occurred_at, nhsNumber: r.nhs_number, body: r.body,
  escalatedAt: r.escalated_at, escalations: r.escalations,
});

const cutoffValues = (laCode: string, c: DueCutoffs): unknown[] => [
  laCode, c.teams.map((t) => t.teamCode), c.teams.map((t) => t.occurredBy), c.teams.map((t) => t.escalatedBy),
  c.otherTeams.occurredBy, c.otherTeams.escalatedBy,
];

/**
 * The audit rows, as columns (audit-batch.ts): the escalation job as a system actor, as the retention
 * job is, one row per escalation naming the child, and in its detail the LA, the event numbers and
 * the teams; never a name or a body.
 */
function auditColumns(laCode: string, at: Date, passId: string, queued: Escalation[], numbers: number[]): unknown[][] {
  const row = (e: Escalation, i: number) => [
    at, 'escalate', 'ok', 'cpis-escalation', 'Escalation job', 'system', 'CPIS', 'CP-IS service', null, e.nhsNumber, null, passId,
    JSON.stringify({
      laCode, eventNumber: numbers[i], escalates: e.escalates, escalation: e.body.escalation,
      fromTeam: e.body.escalates.routedTo.teamCode, toTeam: e.body.routedTo.teamCode, unacknowledgedMinutes: e.body.unacknowledgedMinutes,
    }),
  ];
  const rows = queued.map(row);
  return Array.from({ length: 13 }, (_, column) => rows.map((r) => r[column]));
}

function createWork(client: pg.PoolClient, laCode: string): EscalationWork {
  return {
    async organisation() {
      const { rows } = await client.query<OrganisationRow>(`SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE code = $1`, [laCode]);
      return rows[0] && toOrganisation(rows[0]);
    },
    async dueAlerts(cutoffs, limit) {
      const { rows } = await client.query<DueRow>(DUE, [...cutoffValues(laCode, cutoffs), limit]);
      return rows.map(toAlert);
    },
    async escalate(escalations, at) {
      if (escalations.length === 0) return [];
      const items = escalations.map((e) => ({ escalates: e.escalates, nhsNumber: e.nhsNumber, body: e.body }));
      const { rows } = await client.query<{ event_number: string; escalates_event: string }>(ESCALATE, [laCode, at, JSON.stringify(items)]);
      const queued = rows.map((r) => ({ eventNumber: Number(r.event_number), escalates: Number(r.escalates_event) }));
      // Last in the transaction: the audit chain's lane stays locked only to commit (audit.ts).
      await client.query(insertManySql('audit'), auditColumns(laCode, at, randomUUID(), escalations, queued.map((q) => q.eventNumber)));
      return queued;
    },
  };
}

/** Waiting alerts and their escalations in PostgreSQL. */
export function createPostgresEscalationStore(pool: pg.Pool): EscalationStore {
  return {
    async waitingLas() {
      const { rows } = await pool.query<OrganisationRow>(WAITING_LAS);
      return rows.map(toOrganisation);
    },
    async anyDue(laCode, cutoffs) {
      const { rows } = await pool.query<{ due: boolean }>(ANY_DUE, cutoffValues(laCode, cutoffs));
      return rows[0]?.due === true;
    },
    async forLa(laCode, work) {
      const client = await pool.connect();
      let failed = false;
      try {
        return await inTransaction(client, async () => {
          // One instance at a time per LA: another passes on to the next LA rather than queue behind it.
          const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('escalation:' || $1)) AS locked`, [laCode]);
          if (!rows[0]?.locked) return undefined;
          // The LA's counter row first, as every writer of its notifications takes it (record_accesses(),
          // acknowledge_notifications()), then its alerts, then the audit rows: no lock cycle with them.
          // Waiting for it also means that what dueAlerts reads next is what the last writer committed.
          await client.query('SELECT 1 FROM la_event_counters WHERE la_code = $1 FOR UPDATE', [laCode]);
          return work(createWork(client, laCode));
        });
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A connection that failed is closed rather than reused.
        client.release(failed);
      }
    },
    async oldestWaitingByLa() {
      const { rows } = await pool.query<{ la_code: string; oldest: Date }>(
        `SELECT la_code, min(occurred_at) AS oldest FROM notifications WHERE ${WAITING} GROUP BY la_code`,
      );
      return new Map(rows.map((r) => [r.la_code, r.oldest]));
    },
  };
}
