import type pg from 'pg';
import type { AuditChain } from './audit-chain.ts';

// Per lane: everything before the first row recorded at or after the cutoff (the whole lane if none is).
const purgeOf = ({ rows, anchors }: AuditChain) => `
WITH cut AS (
  SELECT a.lane, a.seq AS anchored,
         COALESCE((SELECT e.seq - 1 FROM ${rows} e WHERE e.lane = a.lane AND e.recorded_at >= $1 ORDER BY e.seq LIMIT 1),
                  (SELECT max(e.seq) FROM ${rows} e WHERE e.lane = a.lane)) AS upto
  FROM ${anchors} a
), last AS (
  SELECT c.lane, e.seq, e.hash FROM cut c JOIN ${rows} e ON e.lane = c.lane AND e.seq = c.upto
  WHERE c.upto > c.anchored
), moved AS (
  UPDATE ${anchors} a SET seq = l.seq, hash = l.hash, moved_at = now() FROM last l WHERE a.lane = l.lane
), gone AS (
  DELETE FROM ${rows} e USING cut c WHERE e.lane = c.lane AND e.seq <= c.upto RETURNING 1
)
SELECT count(*)::int AS deleted FROM gone`;

/**
 * Deletes a chain's rows recorded before the cutoff, as a prefix of each lane (a lane stops at its
 * first row at or after the cutoff), and moves each lane's trusted anchor to the last row it deleted,
 * so that verification starts from there. Returns the number of rows deleted. Run it inside the
 * caller's transaction: the anchors stay locked until it ends, so purges cannot interleave.
 */
export async function purgeChainBefore(client: pg.PoolClient, chain: AuditChain, cutoff: string): Promise<number> {
  await client.query(`SELECT lane FROM ${chain.anchors} ORDER BY lane FOR UPDATE`);
  const { rows } = await client.query<{ deleted: number }>(purgeOf(chain), [cutoff]);
  return rows[0]?.deleted ?? 0;
}
