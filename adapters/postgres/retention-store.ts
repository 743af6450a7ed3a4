import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { RetentionStore, RetentionWork } from '../../src/ports.ts';
import { INSERT_AUDIT } from './audit.ts';
import { AUDIT_CHAIN, UNMATCHED_SEARCH_CHAIN, type AuditChain } from './audit-chain.ts';
import { purgeChainBefore } from './chain-purge.ts';
import { SELECT_PLANS_WITH_LAS, toHeldPlans, type HeldPlanRow } from './held-plans.ts';
import { queueNotifications } from './outbox.ts';
import { inTransaction } from './pool.ts';

/** The advisory lock key one retention pass holds for its whole length, on every instance alike. */
export const RETENTION_LOCK = 4_242_007;

// SKIP LOCKED: a plan an upload or the PDS re-check holds is left for the next pass rather than waited
// for, so this job never joins a lock cycle with them.
const OVER_18 = `${SELECT_PLANS_WITH_LAS}
WHERE p.plan_type <> 'UCPP' AND p.birth_date <= $1 AND p.over_18_handled_at IS NULL AND p.delete_date IS NULL
ORDER BY p.birth_date, p.id
LIMIT $2
FOR UPDATE OF p SKIP LOCKED`;

const MARK_HANDLED = `
UPDATE plans p SET over_18_handled_at = $2,
  end_date = COALESCE(e.end_date, p.end_date),
  updated_at = CASE WHEN e.end_date IS NULL THEN p.updated_at ELSE $2 END
FROM unnest($1::bigint[]) AS h(id) LEFT JOIN unnest($3::bigint[], $4::date[]) AS e(id, end_date) ON e.id = h.id
WHERE p.id = h.id`;

// The WHERE is purgeCriteriaFor's meaning, arm by arm: what visibilityOf calls gone, or a delete date.
const PURGE_PLANS = `
WITH doomed AS (
  SELECT id FROM plans
  WHERE delete_date IS NOT NULL
     OR (plan_type = 'CPP' AND (end_date <= $1 OR birth_date <= $2))
     OR (plan_type = 'LAC' AND (end_date <= $3 OR birth_date <= $4))
     OR (plan_type = 'UCPP' AND end_date <= $5)
  ORDER BY id
  LIMIT $6
  FOR UPDATE SKIP LOCKED
)
DELETE FROM plans p USING doomed d WHERE p.id = d.id
RETURNING p.nhs_number, p.delete_date IS NOT NULL AS deleted`;

const UNHELD = `SELECT DISTINCT n FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.nhs_number = n)`;

const PURGE_NOTIFICATIONS = `
WITH doomed AS (
  SELECT la_code, event_number FROM notifications
  WHERE acknowledged_at < $1 AND occurred_at < $1
  ORDER BY occurred_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM notifications n USING doomed d WHERE n.la_code = d.la_code AND n.event_number = d.event_number`;

// Worklist rows (migration 0020) of children no batch has refused since the cutoff: the LA sent them no more.
const PURGE_REFUSALS = `
WITH doomed AS (
  SELECT la_code, nhs_number FROM refused_records WHERE last_seen_at < $1 ORDER BY last_seen_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
DELETE FROM refused_records r USING doomed d WHERE r.la_code = d.la_code AND r.nhs_number = d.nhs_number`;

// The cutoff of one bounded batch of a chain: just after the span-th oldest row before the real cutoff
// (or the real cutoff, if fewer), as text so that no microseconds are lost on the way through JavaScript.
const batchCutoffOf = (chain: AuditChain) => `
SELECT to_char(c AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cutoff, c >= $1::timestamptz AS last
FROM (SELECT LEAST($1::timestamptz,
        (SELECT recorded_at FROM ${chain.rows} WHERE recorded_at < $1 ORDER BY recorded_at OFFSET $2 - 1 LIMIT 1) + interval '1 microsecond') AS c) b`;

/** One audit row for a batch: the retention job as a system actor; counts only, never who or which child. */
function auditValues(action: string, at: Date, passId: string, detail: Record<string, unknown>): unknown[] {
  return [at, action, 'ok', 'cpis-retention', 'Retention job', 'system', 'CPIS', 'CP-IS service', null, null, null, passId, JSON.stringify(detail)];
}

function createWork(client: pg.PoolClient, passId: string): RetentionWork {
  const audit = (action: string, at: Date, detail: Record<string, unknown>) => client.query(INSERT_AUDIT, auditValues(action, at, passId, detail));

  /** One batch of a chain's oldest rows, removed by one purge record in the audit trail (migration 0013), in one transaction. */
  const purgeChain = (chain: AuditChain) => (before: Date, limit: number, _at: Date, retentionDays: number) =>
    inTransaction(client, async () => {
      // A lane is purged only up to its first row at or after the cutoff, so a lane whose rows predate
      // database time (migration 0013) and whose clock stepped back can hold the oldest rows; the span
      // then widens until something goes or the real cutoff is reached.
      for (let span = limit; ; span *= 2) {
        const { rows } = await client.query<{ cutoff: string; last: boolean }>(batchCutoffOf(chain), [before, span]);
        const { cutoff, last } = rows[0] as { cutoff: string; last: boolean };
        const purged = await purgeChainBefore(client, chain, cutoff, { retentionDays, requestId: passId });
        if (purged === 0 && !last) continue;
        return { changed: purged, more: !last };
      }
    });

  return {
    endPlansOver18: (bornOnOrBefore, limit, at, decide) =>
      inTransaction(client, async () => {
        const { rows } = await client.query<HeldPlanRow>(OVER_18, [bornOnOrBefore, limit]);
        if (rows.length === 0) return { changed: 0, more: false, notified: [] };
        const { plans, organisations } = toHeldPlans(rows);
        const batch = decide(plans, organisations);
        const ends = batch.endDates;
        await client.query(MARK_HANDLED, [plans.map((p) => p.id), at, ends.map((e) => e.id), ends.map((e) => e.endDate)]);
        const notified = await queueNotifications(
          client, 'plan-ended-over-18', at, batch.notifications.map((n) => ({ laCode: n.laCode, nhsNumber: n.body.subject.nhsNumber, body: n.body })),
        );
        if (ends.length > 0 || notified.length > 0) {
          await audit('retention:plan-ended-over-18', at, { examined: plans.length, ended: ends.length, notified: notified.length });
        }
        return { changed: ends.length, more: plans.length === limit, notified };
      }),

    purgePlans: (criteria, limit, at) =>
      inTransaction(client, async () => {
        const { CPP, LAC, UCPP } = criteria;
        const { rows } = await client.query<{ nhs_number: string; deleted: boolean }>(PURGE_PLANS, [
          CPP.endedOnOrBefore, CPP.bornOnOrBefore, LAC.endedOnOrBefore, LAC.bornOnOrBefore, UCPP.endedOnOrBefore, limit,
        ]);
        if (rows.length === 0) return { changed: 0, more: false, peopleForgotten: 0 };
        const unheld = (await client.query<{ n: string }>(UNHELD, [rows.map((r) => r.nhs_number)])).rows.map((r) => r.n);
        const accesses = (await client.query('DELETE FROM accesses WHERE nhs_number = ANY($1)', [unheld])).rowCount ?? 0;
        await client.query('DELETE FROM pds_rechecks WHERE nhs_number = ANY($1)', [unheld]);
        const deletedInError = rows.filter((r) => r.deleted).length;
        await audit('retention:purge-plans', at, { plans: rows.length, deletedInError, peopleForgotten: unheld.length, accesses });
        return { changed: rows.length, more: rows.length === limit, peopleForgotten: unheld.length };
      }),

    purgeNotifications: (before, limit, at) =>
      inTransaction(client, async () => {
        const purged = (await client.query(PURGE_NOTIFICATIONS, [before, limit])).rowCount ?? 0;
        if (purged > 0) await audit('retention:purge-notifications', at, { notifications: purged, before: before.toISOString() });
        return { changed: purged, more: purged === limit };
      }),

    purgeRefusals: (before, limit, at) =>
      inTransaction(client, async () => {
        const purged = (await client.query(PURGE_REFUSALS, [before, limit])).rowCount ?? 0;
        if (purged > 0) await audit('retention:purge-refusals', at, { refusals: purged, before: before.toISOString() });
        return { changed: purged, more: purged === limit };
      }),

    purgeAudit: purgeChain(AUDIT_CHAIN),

    // Not a register of all children (README, Privacy): its purge records, counts and hashes only, go to the lasting trail.
    purgeUnmatchedSearches: purgeChain(UNMATCHED_SEARCH_CHAIN),
  };
}

/** Retention work in PostgreSQL, one pass at a time under a session advisory lock. */
export function createPostgresRetentionStore(pool: pg.Pool): RetentionStore {
  return {
    async exclusively(pass) {
      const client = await pool.connect();
      let failed = false;
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK]);
        if (!rows[0]?.locked) return undefined;
        try {
          return await pass(createWork(client, randomUUID()));
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
        }
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A connection that failed is closed rather than reused: closing it also frees any lock it held.
        client.release(failed);
      }
    },
  };
}
