import type pg from 'pg';
import type { AuditEntry } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';

export type SequenceRestart = { series: number; lastSequenceNumber: number | null };

/**
 * Starts a new series of the LA's batch numbers (migration 0014): its next batch may be numbered 1
 * again. Under the LA's upload lock, so a batch being committed lands wholly before or after it.
 * Returns undefined for an LA the service does not know. Audited in the same transaction.
 */
export async function restartSequence(
  pool: pg.Pool, laCode: string, audit: (restart: SequenceRestart) => AuditEntry,
): Promise<SequenceRestart | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('upload:' || $1))`, [laCode]);
    const known = await client.query('SELECT 1 FROM organisations WHERE code = $1', [laCode]);
    if (known.rowCount === 0) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const { rows } = await client.query<{ series: number; last: string | null }>(
      `SELECT c.series, (SELECT max(u.sequence_number) FROM uploads u WHERE u.la_code = $1 AND u.series = c.series) AS last
       FROM (SELECT COALESCE((SELECT s.series FROM upload_series s WHERE s.la_code = $1), 1) AS series) c`,
      [laCode],
    );
    const current = rows[0] as { series: number; last: string | null };
    const restart = { series: current.series + 1, lastSequenceNumber: current.last === null ? null : Number(current.last) };
    await client.query(
      `INSERT INTO upload_series (la_code, series) VALUES ($1, $2)
       ON CONFLICT (la_code) DO UPDATE SET series = EXCLUDED.series, restarted_at = now()`,
      [laCode, restart.series],
    );
    await insertAudit(client, audit(restart));
    await client.query('COMMIT');
    return restart;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
