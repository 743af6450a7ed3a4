import type pg from 'pg';
import type { RecordResult } from '../../src/domain/acknowledgement.ts';
import type { UploadStore } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';
import { discardUpload, PostgresBatchSession, SLOT_TTL_MS } from './batch-session.ts';
import { PostgresDryRunSession } from './dry-run-session.ts';

// A dry run's staging key comes from the upload slots' own sequence, so it is never an upload's.
const CLAIM_DRY_RUN_SLOT = `
INSERT INTO upload_dry_run_slots (la_code, upload_id, batch, expires_at)
VALUES ($1, $2, nextval(pg_get_serial_sequence('upload_slots', 'batch')), now() + $3 * interval '1 millisecond')
ON CONFLICT (la_code) DO NOTHING RETURNING batch`;

type WorklistRow = {
  nhs_number: string; result: RecordResult; code: string; field: string; message: string;
  first_seen_at: Date; last_seen_at: Date; last_upload_id: string; last_index: number;
};

/**
 * Batch sessions on the bulk pool, one at a time per LA through the upload_slots table (migration 0008);
 * pages of refusals, an LA's read, on the general pool.
 */
export function createPostgresUploadStore(pools: { writes: pg.Pool; reads: pg.Pool }): UploadStore {
  const pool = pools.writes;
  return {
    async open(laCode, uploadId) {
      // A slot whose holder stopped renewing it (the process died) is taken over, and what it staged cleared.
      const stale = await pool.query<{ upload_id: string; batch: string }>(
        'DELETE FROM upload_slots WHERE la_code = $1 AND expires_at < now() RETURNING upload_id, batch', [laCode],
      );
      for (const row of stale.rows) await discardUpload(pool, row.upload_id, row.batch);
      const claimed = await pool.query<{ batch: string }>(
        `INSERT INTO upload_slots (la_code, upload_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (la_code) DO NOTHING RETURNING batch`,
        [laCode, uploadId, SLOT_TTL_MS],
      );
      const key = claimed.rows[0]?.batch;
      return key === undefined ? undefined : new PostgresBatchSession(pool, laCode, uploadId, key);
    },
    async openDryRun(laCode, uploadId) {
      const stale = await pool.query<{ upload_id: string; batch: string }>(
        'DELETE FROM upload_dry_run_slots WHERE la_code = $1 AND expires_at < now() RETURNING upload_id, batch', [laCode],
      );
      for (const row of stale.rows) await discardUpload(pool, row.upload_id, row.batch);
      const claimed = await pool.query<{ batch: string }>(CLAIM_DRY_RUN_SLOT, [laCode, uploadId, SLOT_TTL_MS]);
      const key = claimed.rows[0]?.batch;
      return key === undefined ? undefined : new PostgresDryRunSession(pool, laCode, uploadId, key);
    },
    async refusals(laCode, uploadId, after, limit) {
      const owned = await pools.reads.query('SELECT 1 FROM uploads WHERE id = $1 AND la_code = $2', [uploadId, laCode]);
      if (owned.rowCount === 0) return undefined;
      const { rows } = await pools.reads.query<{ idx: number; result: RecordResult; code: string; field: string; message: string }>(
        'SELECT idx, result, code, field, message FROM upload_refusals WHERE upload_id = $1 AND idx > $2 ORDER BY idx LIMIT $3',
        [uploadId, after, limit],
      );
      return rows.map((r) => ({ index: r.idx, result: r.result, detail: { code: r.code, field: r.field, message: r.message } }));
    },
    async outstandingRefusals(laCode, after, limit) {
      const { rows } = await pools.reads.query<WorklistRow>(
        `SELECT nhs_number, result, code, field, message, first_seen_at, last_seen_at, last_upload_id, last_index
         FROM refused_records WHERE la_code = $1 AND nhs_number > $2 ORDER BY nhs_number LIMIT $3`,
        [laCode, after ?? '', limit],
      );
      const total = await pools.reads.query<{ n: number }>('SELECT count(*)::int AS n FROM refused_records WHERE la_code = $1', [laCode]);
      return {
        total: total.rows[0]?.n ?? 0,
        refusals: rows.map((r) => ({
          nhsNumber: r.nhs_number, result: r.result, detail: { code: r.code, field: r.field, message: r.message },
          firstSeenAt: r.first_seen_at.toISOString(), lastSeenAt: r.last_seen_at.toISOString(), lastUploadId: r.last_upload_id, lastIndex: r.last_index,
        })),
      };
    },
    async recordAudit(entry) {
      await insertAudit(pool, entry);
    },
  };
}
