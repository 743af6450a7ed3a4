import type pg from 'pg';
import type { AuditChain } from './audit-chain.ts';

// The purge record is the purge (migration 0013): its insert trigger cuts each lane of the chain,
// moves the anchors, deletes the rows and writes what it did into the detail. No row when nothing was due.
const PURGE = `
INSERT INTO audit_events (action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, request_id, detail)
VALUES ($1, 'ok', 'cpis-retention', 'Retention job', 'system', 'CPIS', 'CP-IS service', $2, $3)
RETURNING (detail->>'rowsRemoved')::int AS removed`;

/**
 * Deletes a chain's rows recorded before the cutoff, as a prefix of each lane (a lane stops at its
 * first row recorded at or after the cutoff), and moves each lane's anchor to the last row it deleted,
 * through one purge record in audit_events that says so. The database cuts no later than its own
 * clock minus `retentionDays`, whatever `cutoff` says. Returns the number of rows deleted. Run it
 * inside the caller's transaction: the anchors stay locked until it ends, so purges cannot interleave.
 */
export async function purgeChainBefore(
  client: pg.PoolClient,
  chain: AuditChain,
  cutoff: string,
  options: { retentionDays: number; requestId: string },
): Promise<number> {
  const detail = { chain: chain.name, before: cutoff, retentionDays: options.retentionDays };
  const { rows } = await client.query<{ removed: number }>(PURGE, [chain.purgeAction, options.requestId, JSON.stringify(detail)]);
  return rows[0]?.removed ?? 0;
}
