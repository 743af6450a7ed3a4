import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { NhsNumberRecheckStore, Retirement } from '../../src/ports.ts';
import { SELECT_HELD_PLANS, toHeldPlans, type HeldPlanRow } from './held-plans.ts';
import { INSERT_AUDIT } from './audit.ts';
import { queueNotifications } from './outbox.ts';
import { inTransaction } from './pool.ts';
import { movesTo } from '../../src/domain/inactive-nhs-number.ts';


const SCHEDULE_NEW = `UPDATE pds_rechecks SET next_check_at = $1::timestamptz + $2 * interval '1 millisecond' WHERE next_check_at IS NULL`;

// A number whose plans have all gone (deleted, purged) is no business of ours: PDS is never asked about it.
const FORGET_UNHELD = `
DELETE FROM pds_rechecks r
WHERE r.next_check_at <= $1 AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.nhs_number = r.nhs_number)`;

// SKIP LOCKED: instances claiming at once each take different rows; the lease keeps them apart afterwards.
const CLAIM = `
WITH due AS (
  SELECT nhs_number FROM pds_rechecks
  WHERE next_check_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
  ORDER BY next_check_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE pds_rechecks r SET leased_until = $1::timestamptz + $3 * interval '1 millisecond'
FROM due WHERE r.nhs_number = due.nhs_number
RETURNING r.nhs_number`;

// Locks the number's plans first (then counters, then the tracking row), the order uploads cannot reverse.
const HELD = `${SELECT_HELD_PLANS}
ORDER BY p.la_code, p.start_date, p.id
FOR UPDATE OF p`;

/**
 * A merged (superseded) number's plans and access history move to the number PDS now gives for the
 * person, the one an ED will trace, and are served under it at once. A plan already held under the
 * new number with the same key (the LA sent it again) is the one kept. Notifications stay as they
 * were sent. The new number is checked in its turn.
 */
async function moveTo(client: pg.PoolClient, from: string, to: string): Promise<void> {
  await client.query(
    `DELETE FROM plans o USING plans n
     WHERE o.nhs_number = $1 AND n.nhs_number = $2 AND n.la_code = o.la_code AND n.plan_type = o.plan_type AND n.start_date = o.start_date`,
    [from, to],
  );
  await client.query('UPDATE plans SET nhs_number = $2, updated_at = now() WHERE nhs_number = $1', [from, to]);
  await client.query('UPDATE accesses SET nhs_number = $2 WHERE nhs_number = $1', [from, to]);
  await client.query('INSERT INTO pds_rechecks (nhs_number) VALUES ($1) ON CONFLICT (nhs_number) DO NOTHING', [to]);
}

/** Audits a retirement as the system acting for the owning LA; data in PostgreSQL, never a log line. */
function auditValues(r: Retirement, laCode: string, eventNumber: number): unknown[] {
  const detail = { reason: r.reason, replacementNhsNumber: r.replacementNhsNumber, moved: movesTo(r) !== null, eventNumber };
  return [r.at, 'pds:inactive-nhs-number', 'ok', 'cpis-pds-recheck', 'PDS re-check job', 'system', laCode, null, null, r.nhsNumber, null, randomUUID(), JSON.stringify(detail)];
}

/** The PDS re-check work table in PostgreSQL. */
export function createPostgresRecheckStore(pool: pg.Pool): NhsNumberRecheckStore {
  return {
    async claimDue(now, limit, leaseMs, intervalMs) {
      await pool.query(SCHEDULE_NEW, [now, intervalMs]);
      await pool.query(FORGET_UNHELD, [now]);
      const { rows } = await pool.query<{ nhs_number: string }>(CLAIM, [now, limit, leaseMs]);
      return rows.map((r) => r.nhs_number);
    },
    async markChecked(nhsNumber, checkedAt, nextCheckAt) {
      await pool.query('UPDATE pds_rechecks SET next_check_at = $2, last_checked_at = $3, leased_until = NULL WHERE nhs_number = $1', [
        nhsNumber, nextCheckAt, checkedAt,
      ]);
    },
    async retire(retirement, build) {
      const client = await pool.connect();
      try {
        return await inTransaction(client, async () => {
          const { rows } = await client.query<HeldPlanRow>(HELD, [retirement.nhsNumber]);
          const { plans, organisations } = toHeldPlans(rows);
          const created = await queueNotifications(
            client, 'inactive-nhs-number', retirement.at, build(plans, organisations).map((n) => ({ ...n, nhsNumber: retirement.nhsNumber })),
          );
          const replacement = movesTo(retirement);
          if (replacement) await moveTo(client, retirement.nhsNumber, replacement);
          else await client.query('DELETE FROM plans WHERE nhs_number = $1', [retirement.nhsNumber]);
          await client.query('DELETE FROM pds_rechecks WHERE nhs_number = $1', [retirement.nhsNumber]);
          // Audit rows last: an audit insert takes a chain lane (migration 0006), and a transaction that
          // holds a lane must not then wait for an LA counter that a lane-waiting lookup holds.
          for (const { laCode, eventNumber } of created) await client.query(INSERT_AUDIT, auditValues(retirement, laCode, eventNumber));
          return created;
        });
      } finally {
        client.release();
      }
    },
  };
}
