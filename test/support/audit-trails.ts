import type pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import type { AuditReport, ChainName, ChainReport, Checkpoint, RetentionDays } from '../../adapters/postgres/audit-chain.ts';

const COLUMNS = `id, recorded_at, action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, setting,
  nhs_number, unscheduled, request_id, detail`;

/** Every audited search and event, from both trails; `trail` says which kept it (README, Privacy). */
const BOTH_TRAILS = `(SELECT 'lasting' AS trail, ${COLUMNS} FROM audit_events
  UNION ALL SELECT 'unmatched' AS trail, ${COLUMNS} FROM unmatched_search_events) AS a`;

/** One audit row as PostgreSQL returns it, with `trail`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are asserted on, not trusted
export type AuditRow = any;

/** Audit rows of both trails matching `where` (over the columns above, and `trail`), oldest first. */
export async function auditRowsOfBothTrails(db: pg.Pool | pg.Client, where: string, values: unknown[] = []): Promise<AuditRow[]> {
  return (await db.query<AuditRow>(`SELECT * FROM ${BOTH_TRAILS} WHERE ${where} ORDER BY recorded_at, trail, id`, values)).rows;
}

/** How many audit rows of both trails match `where`. */
export async function countOfBothTrails(db: pg.Pool | pg.Client, where: string, values: unknown[] = []): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${BOTH_TRAILS} WHERE ${where}`, values)).rows[0]?.n);
}

const CHAINS = [
  { rows: 'audit_events', heads: 'audit_chain_heads', anchors: 'audit_chain_anchors', canonical: 'audit_chain_canonical' },
  { rows: 'unmatched_search_events', heads: 'unmatched_search_chain_heads', anchors: 'unmatched_search_chain_anchors', canonical: 'unmatched_search_canonical' },
] as const;

const shifted = (field: string) =>
  `to_char(((detail->>'${field}')::timestamptz - $1::int * interval '24 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Re-links every lane of one chain from its anchor, and its heads to the new hashes, as the trigger would have chained the rows. */
const relink = (c: (typeof CHAINS)[number]) => `
DO $$
DECLARE
  r record;
  prev bytea;
  lane_now smallint := -1;
BEGIN
  FOR r IN SELECT e.id, e.lane, a.hash AS anchor FROM ${c.rows} e JOIN ${c.anchors} a ON a.lane = e.lane ORDER BY e.lane, e.seq LOOP
    IF r.lane <> lane_now THEN
      prev := r.anchor;
      lane_now := r.lane;
    END IF;
    UPDATE ${c.rows} e SET prev_hash = prev, hash = sha256(prev || ${c.canonical}(e)) WHERE e.id = r.id RETURNING e.hash INTO prev;
  END LOOP;
  UPDATE ${c.heads} h SET hash = e.hash FROM ${c.rows} e WHERE e.lane = h.lane AND e.seq = h.seq;
END
$$`;

/**
 * Lets `days` pass for both audit trails. PostgreSQL's clock, which sets recorded_at (migration 0013),
 * cannot be injected as the service's clock is; so this rewrites the trails as they would stand had
 * every row been written, and every purge made, `days` earlier: each recorded_at, each head's time and
 * each purge record's cut-offs move back, and every lane is re-hashed from its anchor. It works as the
 * table owner, with the chains' triggers off, exactly as tampering would: a checkpoint taken before
 * no longer holds, as it must not. Anchors (hashes of rows already purged) are unchanged.
 */
export async function ageTrails(pool: pg.Pool, days: number): Promise<void> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    for (const c of CHAINS) {
      await db.query(`ALTER TABLE ${c.rows} DISABLE TRIGGER USER`);
      await db.query(`UPDATE ${c.rows} SET recorded_at = recorded_at - $1::int * interval '24 hours'`, [days]);
      await db.query(`UPDATE ${c.heads} SET recorded_at = recorded_at - $1::int * interval '24 hours'`, [days]);
    }
    await db.query(
      `UPDATE audit_events SET detail = detail || jsonb_build_object('before', ${shifted('before')}, 'cutoff', ${shifted('cutoff')})
       WHERE action IN ('retention:purge-audit', 'retention:purge-unmatched-searches') AND detail ? 'moves'`,
      [days],
    );
    for (const c of CHAINS) {
      await db.query(relink(c));
      await db.query(`ALTER TABLE ${c.rows} ENABLE TRIGGER USER`);
    }
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  } finally {
    db.release();
  }
}

/** The retention periods verification holds purge records to, for a service started with these settings. */
export function retentionOf(env: Record<string, string> = {}): RetentionDays {
  const { retention } = loadConfig({ NODE_ENV: 'test', ...env });
  return { audit: retention.auditDays, 'unmatched-search': retention.unmatchedSearchDays };
}

/**
 * Appends rows to one lane of the audit chain as the service wrote them before migration 0013: with
 * the service's clock in recorded_at, which can go back in time, chained as the trigger of 0006 did.
 * The lane's db_time_from then lies past them, as the migration leaves it for rows it found.
 */
export async function appendRowsOfServiceTime(pool: pg.Pool, lane: number, recordedAts: Date[], action: string): Promise<void> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    await db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await db.query('ALTER TABLE audit_chain_anchors DISABLE TRIGGER USER');
    for (const recordedAt of recordedAts) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id, lane, seq, prev_hash, hash)
         SELECT $1, $2, 'ok', 'clock-test', 'system', 'CPIS', 'clock-test', h.lane, h.seq + 1, h.hash, '\\x00' FROM audit_chain_heads h WHERE h.lane = $3
         RETURNING id::text`,
        [recordedAt, action, lane],
      );
      const id = rows[0]?.id;
      await db.query('UPDATE audit_events e SET hash = sha256(e.prev_hash || audit_chain_canonical(e)) WHERE e.id = $1', [id]);
      await db.query('UPDATE audit_chain_heads h SET seq = e.seq, hash = e.hash FROM audit_events e WHERE e.id = $1 AND h.lane = e.lane', [id]);
    }
    await db.query('UPDATE audit_chain_anchors a SET db_time_from = h.seq + 1 FROM audit_chain_heads h WHERE h.lane = a.lane AND a.lane = $1', [lane]);
    await db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await db.query('ALTER TABLE audit_chain_anchors ENABLE TRIGGER USER');
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  } finally {
    db.release();
  }
}

/** The checkpoint an operator keeps: the lanes of an intact report (`audit:verify --json`). */
export function checkpointOf(report: AuditReport): Checkpoint {
  const checkpoint: Checkpoint = {};
  for (const [name, chain] of Object.entries(report.chains) as [ChainName, ChainReport][]) if (chain.ok) checkpoint[name] = chain.heads;
  return checkpoint;
}
