import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Acknowledgement, RecordRejection } from '../../src/domain/acknowledgement.ts';
import { serviceUnavailable } from '../../src/domain/app-error.ts';
import type { Plan } from '../../src/domain/plan.ts';
import type { IdentityField } from '../../src/domain/person.ts';
import type { AuditEntry, BatchSession, CommitOutcome } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';
import { inTransaction } from './pool.ts';

// Valid rows go to the staging table in COPYs of about this much; refusals in inserts of this many.
const STAGE_FLUSH_BYTES = 256 * 1024;
const REFUSAL_FLUSH_ROWS = 2_000;
/** An upload's slot lapses this long after its holder last renewed it (a holder renews three times as often). */
export const SLOT_TTL_MS = 30_000;
const SLOT_RENEW_MS = 10_000;

const csv = (value: string | null): string => (value === null ? '' : `"${value.replaceAll('"', '""')}"`);
const pgArray = (lines: string[]): string => `{${lines.map((l) => `"${l.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

function toCsvLine(key: string, index: number, p: Plan, verifiedAt: Date | null): string {
  return [
    key, String(index), p.nhsNumber, p.planType, p.startDate, csv(p.endDate), csv(p.deleteDate), csv(p.lacLegalStatus),
    csv(p.familyName), csv(p.givenNames), p.birthDate, csv(p.postcode), csv(pgArray(p.addressLines)), csv(p.localId),
    verifiedAt ? verifiedAt.toISOString() : '', csv(p.teamCode ?? null),
  ].join(',') + '\n';
}

const COPY_STAGING = `COPY upload_staging (batch, idx, nhs_number, plan_type, start_date, end_date, delete_date, lac_legal_status,
  family_name, given_names, birth_date, postcode, address_lines, local_id, pds_verified_at, team_code) FROM STDIN (FORMAT csv)`;

const INSERT_REFUSALS = `INSERT INTO upload_refusals (upload_id, idx, result, code, field, message)
  SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[])`;

// The refused records' NHS numbers (those that were valid), for the worklist: apart from upload_refusals,
// whose lasting rows hold none. In the same statement as the refusals: one round trip, one transaction.
const INSERT_REFUSALS_KEYED = `WITH refusals AS (${INSERT_REFUSALS})
  INSERT INTO upload_refused_staging (batch, idx, nhs_number) SELECT $7::bigint, * FROM unnest($8::int[], $9::bpchar[])`;

const APPLY = `
WITH latest AS (
  SELECT DISTINCT ON (nhs_number, plan_type, start_date) *
  FROM upload_staging WHERE batch = $2
  ORDER BY nhs_number, plan_type, start_date, idx DESC
), removed AS (
  DELETE FROM plans p USING latest l
  WHERE l.delete_date IS NOT NULL AND p.la_code = $1 AND p.nhs_number = l.nhs_number
    AND p.plan_type = l.plan_type AND p.start_date = l.start_date
)
INSERT INTO plans AS p (la_code, nhs_number, plan_type, start_date, end_date, lac_legal_status,
                   family_name, given_names, birth_date, postcode, address_lines, local_id, pds_verified_at, team_code)
SELECT $1, nhs_number, plan_type, start_date, end_date, lac_legal_status,
       family_name, given_names, birth_date, postcode, address_lines, local_id, pds_verified_at, team_code
FROM latest WHERE delete_date IS NULL
ON CONFLICT ON CONSTRAINT plans_upsert_key DO UPDATE SET
  end_date = EXCLUDED.end_date, lac_legal_status = EXCLUDED.lac_legal_status,
  family_name = EXCLUDED.family_name, given_names = EXCLUDED.given_names, birth_date = EXCLUDED.birth_date,
  postcode = EXCLUDED.postcode, address_lines = EXCLUDED.address_lines, local_id = EXCLUDED.local_id, team_code = EXCLUDED.team_code,
  -- Details sent again unchecked are not the ones PDS confirmed.
  pds_verified_at = EXCLUDED.pds_verified_at,
  updated_at = now()`;

// The LA's current series (migration 0014): sequence numbers are compared within it only.
const SERIES = '(SELECT COALESCE((SELECT s.series FROM upload_series s WHERE s.la_code = $1), 1))';
const LAST_SEQUENCE = `SELECT max(sequence_number) AS last FROM uploads WHERE la_code = $1 AND series = ${SERIES}`;

// One identity per NHS number within an LA (README, One identity per NHS number). Each incoming plan
// (the last record of its key) must agree on family name, given names, birth date and postcode with
// the LA's plans of the child that the batch leaves as they are; where it leaves none (the batch
// sends all of them), with the batch's other records of the child. Keys that do not agree are
// withdrawn whole, earlier records of the key included, and each is returned with the fields at odds.
// Set-based, with per-child aggregates rather than pairwise comparisons: linear in the batch.
const WITHDRAW_CONFLICTING = `
WITH latest AS (
  SELECT DISTINCT ON (nhs_number, plan_type, start_date) idx, nhs_number, plan_type, start_date, delete_date,
         family_name, given_names, birth_date, coalesce(postcode, '') AS postcode
  FROM upload_staging WHERE batch = $2
  ORDER BY nhs_number, plan_type, start_date, idx DESC
), incoming AS (
  SELECT * FROM latest WHERE delete_date IS NULL
), held AS (
  SELECT p.nhs_number::text AS nhs_number, p.family_name, p.given_names, p.birth_date, coalesce(p.postcode, '') AS postcode
  FROM plans p
  JOIN (SELECT DISTINCT nhs_number FROM incoming) c ON c.nhs_number = p.nhs_number::text
  LEFT JOIN latest l ON l.nhs_number = p.nhs_number::text AND l.plan_type = p.plan_type AND l.start_date = p.start_date
  WHERE p.la_code = $1 AND l.idx IS NULL
), reference AS (
  SELECT * FROM held
  UNION ALL
  SELECT i.nhs_number, i.family_name, i.given_names, i.birth_date, i.postcode FROM incoming i
  WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.nhs_number = i.nhs_number)
), agreed AS (
  -- Per child, each field's one agreed value; null where the reference holds more than one.
  SELECT nhs_number,
         CASE WHEN count(DISTINCT family_name) = 1 THEN min(family_name) END AS family_name,
         CASE WHEN count(DISTINCT given_names) = 1 THEN min(given_names) END AS given_names,
         CASE WHEN count(DISTINCT birth_date) = 1 THEN min(birth_date) END AS birth_date,
         CASE WHEN count(DISTINCT postcode) = 1 THEN min(postcode) END AS postcode
  FROM reference GROUP BY nhs_number
), refused AS (
  SELECT i.nhs_number, i.plan_type, i.start_date, array_remove(ARRAY[
           CASE WHEN a.family_name IS DISTINCT FROM i.family_name THEN 'familyName' END,
           CASE WHEN a.given_names IS DISTINCT FROM i.given_names THEN 'givenNames' END,
           CASE WHEN a.birth_date IS DISTINCT FROM i.birth_date THEN 'birthDate' END,
           CASE WHEN a.postcode IS DISTINCT FROM i.postcode THEN 'postcode' END], NULL) AS fields
  FROM incoming i JOIN agreed a ON a.nhs_number = i.nhs_number
  WHERE a.family_name IS DISTINCT FROM i.family_name OR a.given_names IS DISTINCT FROM i.given_names
     OR a.birth_date IS DISTINCT FROM i.birth_date OR a.postcode IS DISTINCT FROM i.postcode
), withdrawn AS (
  DELETE FROM upload_staging s USING refused r
  WHERE s.batch = $2 AND s.nhs_number = r.nhs_number AND s.plan_type = r.plan_type AND s.start_date = r.start_date
  RETURNING s.idx, s.nhs_number, r.fields
), keyed AS (
  -- Withdrawn records are refused: the worklist keeps them under their NHS numbers, which only this table still has.
  INSERT INTO upload_refused_staging (batch, idx, nhs_number) SELECT $2, idx, nhs_number::bpchar FROM withdrawn WHERE $3::boolean
)
SELECT idx, fields FROM withdrawn`;

// The LA's refusals worklist (migration 0020), in the commit's transaction ($1 LA, $2 batch key, $3
// upload id, $4 the batch's time): each NHS number refused in the batch gets its latest refusal (the
// record with the highest index), keeping when it was first refused; a number the batch loads or
// deletes a plan of, and refuses no record of, leaves the worklist.
const UPDATE_WORKLIST = `
WITH refused AS (
  SELECT DISTINCT ON (k.nhs_number) k.nhs_number, k.idx, r.result, r.code, r.field, r.message
  FROM upload_refused_staging k JOIN upload_refusals r ON r.upload_id = $3 AND r.idx = k.idx
  WHERE k.batch = $2
  ORDER BY k.nhs_number, k.idx DESC
), kept AS (
  INSERT INTO refused_records AS w (la_code, nhs_number, result, code, field, message, first_seen_at, last_seen_at, last_upload_id, last_index)
  SELECT $1::text, nhs_number, result, code, field, message, $4::timestamptz, $4::timestamptz, $3::uuid, idx FROM refused
  ON CONFLICT (la_code, nhs_number) DO UPDATE SET
    result = EXCLUDED.result, code = EXCLUDED.code, field = EXCLUDED.field, message = EXCLUDED.message,
    last_seen_at = EXCLUDED.last_seen_at, last_upload_id = EXCLUDED.last_upload_id, last_index = EXCLUDED.last_index
)
DELETE FROM refused_records w
USING (SELECT DISTINCT nhs_number::bpchar AS nhs_number FROM upload_staging WHERE batch = $2) l
WHERE w.la_code = $1 AND w.nhs_number = l.nhs_number AND NOT EXISTS (SELECT 1 FROM refused f WHERE f.nhs_number = l.nhs_number)`;

/** Removes what an upload that never committed staged and refused. */
export async function discardUpload(db: pg.Pool | pg.PoolClient, uploadId: string, key: string): Promise<void> {
  await db.query('DELETE FROM upload_staging WHERE batch = $1', [key]);
  await db.query('DELETE FROM upload_refused_staging WHERE batch = $1', [key]);
  await db.query('DELETE FROM upload_refusals WHERE upload_id = $1 AND NOT EXISTS (SELECT 1 FROM uploads WHERE id = $1)', [uploadId]);
}

// A batch this large may change the plans table more than the planner's statistics know (README,
// Benchmarks: with a million plans loaded and none analysed yet, lookups chose a parallel sequential
// scan and ran ten times slower until autovacuum got round to the table, a minute or more later).
const ANALYZE_AFTER_ROWS = 1_000;

/**
 * Brings the planner's statistics of the register up to date after a large batch, before its
 * acknowledgement is sent, so that lookups from then on are planned against what is there. Best
 * effort: if autovacuum holds the table (it is then analysing it itself) or anything fails, the
 * batch stands as committed and autovacuum's own analysis follows.
 */
async function refreshPlanStatistics(pool: pg.Pool): Promise<void> {
  const client = await pool.connect().catch(() => undefined);
  if (!client) return;
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL lock_timeout = '2s'");
    await client.query('ANALYZE plans');
    await client.query('COMMIT');
  } catch {
    await client.query('ROLLBACK').catch(() => undefined);
  } finally {
    client.release();
  }
}

/** Where a session's slot is held: an upload's (one per LA), or a dry run's (one per LA, apart from its uploads; migration 0020). */
export type SlotTable = 'upload_slots' | 'upload_dry_run_slots';

/** A batch on the pool: each write borrows a connection for its own statement, and only the commit holds one for longer. */
export class PostgresBatchSession implements BatchSession {
  private readonly pool: pg.Pool;
  private readonly laCode: string;
  private readonly uploadId: string;
  private readonly key: string;
  private readonly slots: SlotTable;
  private readonly renewal: NodeJS.Timeout;
  private rows = '';
  private staged = 0;
  private refusals: RecordRejection[] = [];
  private refused = 0;
  // Refused records kept under their NHS numbers for the worklist: waiting to be written, and in all.
  private refusedKeys: { index: number; nhsNumber: string }[] = [];
  private keyed = 0;
  private ended = false;
  // One write at a time runs while the next chunk is read and checked: reading and writing overlap, and
  // a slow database holds the reader back by one chunk at most.
  private writing: Promise<void> = Promise.resolve();

  constructor(pool: pg.Pool, laCode: string, uploadId: string, key: string, slots: SlotTable = 'upload_slots') {
    this.pool = pool;
    this.key = key;
    this.laCode = laCode;
    this.uploadId = uploadId;
    this.slots = slots;
    // A renewal that fails leaves the slot to lapse: the commit's lock and sequence check still keep batches in order.
    this.renewal = setInterval(() => {
      pool
        .query(`UPDATE ${slots} SET expires_at = now() + $3 * interval '1 millisecond' WHERE la_code = $1 AND upload_id = $2`, [laCode, uploadId, SLOT_TTL_MS])
        .catch(() => undefined);
    }, SLOT_RENEW_MS).unref();
  }

  async lastSequenceNumber(): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ last: string | null }>(LAST_SEQUENCE, [this.laCode]);
    return rows[0]?.last == null ? undefined : Number(rows[0].last);
  }

  async acknowledgementOf(sequenceNumber: number): Promise<Acknowledgement | undefined> {
    const { rows } = await this.pool.query<{ acknowledgement: Acknowledgement }>(
      `SELECT acknowledgement FROM uploads WHERE la_code = $1 AND series = ${SERIES} AND sequence_number = $2`,
      [this.laCode, sequenceNumber],
    );
    return rows[0]?.acknowledgement;
  }

  async stage(index: number, plan: Plan, verifiedAt: Date | null): Promise<void> {
    this.rows += toCsvLine(this.key, index, plan, verifiedAt);
    this.staged++;
    if (this.rows.length >= STAGE_FLUSH_BYTES) await this.startWrite(() => this.flushRows());
  }

  async refuse(rejection: RecordRejection, nhsNumber?: string | null): Promise<void> {
    this.refusals.push(rejection);
    this.refused++;
    if (nhsNumber) {
      this.refusedKeys.push({ index: rejection.index, nhsNumber });
      this.keyed++;
    }
    if (this.refusals.length >= REFUSAL_FLUSH_ROWS) await this.startWrite(() => this.flushRefusals());
  }

  async withdrawConflicting(): Promise<{ index: number; fields: IdentityField[] }[]> {
    await this.writing;
    await this.flushRows();
    if (this.staged === 0) return [];
    const client = await this.pool.connect();
    let rows: { idx: number; fields: IdentityField[] }[];
    try {
      // The staging table is new data the planner has no statistics for: estimating a handful of rows,
      // it would pick nested loops that go quadratic on a large batch. Every join here is an equi-join.
      rows = await inTransaction(client, async () => {
        await client.query('SET LOCAL enable_nestloop = off');
        return (await client.query<{ idx: number; fields: IdentityField[] }>(WITHDRAW_CONFLICTING, [this.laCode, this.key, this.keepsRefusals])).rows;
      });
    } finally {
      client.release();
    }
    this.staged -= rows.length;
    if (this.keepsRefusals) this.keyed += rows.length;
    return rows.map((r) => ({ index: r.idx, fields: r.fields })).sort((a, b) => a.index - b.index);
  }

  /** Waits for the write under way (its failure fails the batch), then starts this one without waiting for it. */
  private async startWrite(write: () => Promise<void>): Promise<void> {
    await this.writing;
    const started = write();
    // Observed here, thrown by the next await of `writing`.
    started.catch(() => undefined);
    this.writing = started;
  }

  private async flushRows(): Promise<void> {
    if (!this.rows) return;
    const chunk = this.rows;
    this.rows = '';
    const client = await this.pool.connect();
    let failed = false;
    try {
      await pipeline(Readable.from([chunk]), client.query(copyStreams.from(COPY_STAGING)));
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      client.release(failed);
    }
  }

  private async flushRefusals(): Promise<void> {
    if (this.refusals.length === 0) return;
    const chunk = this.refusals.splice(0);
    const keys = this.refusedKeys.splice(0);
    const refusals = [
      this.uploadId, chunk.map((r) => r.index), chunk.map((r) => r.result), chunk.map((r) => r.detail.code),
      chunk.map((r) => r.detail.field), chunk.map((r) => r.detail.message),
    ];
    if (keys.length === 0) await this.pool.query(INSERT_REFUSALS, refusals);
    else await this.pool.query(INSERT_REFUSALS_KEYED, [...refusals, this.key, keys.map((k) => k.index), keys.map((k) => k.nhsNumber)]);
  }

  /** Whether this session keeps refusals (pages and worklist): a dry run's does not. */
  protected get keepsRefusals(): boolean {
    return true;
  }

  /** The worklist's part of the commit: skipped when the batch refused no valid NHS number and the LA has no worklist. */
  private async updateWorklist(client: pg.PoolClient, ack: Acknowledgement): Promise<void> {
    if (this.keyed === 0) {
      const { rows } = await client.query('SELECT 1 FROM refused_records WHERE la_code = $1 LIMIT 1', [this.laCode]);
      if (rows.length === 0) return;
    }
    await client.query(UPDATE_WORKLIST, [this.laCode, this.key, ack.uploadId, ack.receivedAt]);
    if (this.keyed > 0) await client.query('DELETE FROM upload_refused_staging WHERE batch = $1', [this.key]);
  }

  async commit(ack: Acknowledgement, audit: AuditEntry): Promise<CommitOutcome> {
    await this.writing;
    await this.flushRows();
    await this.flushRefusals();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('upload:' || $1))`, [this.laCode]);
      const { rows } = await client.query<{ last: string | null }>(LAST_SEQUENCE, [this.laCode]);
      const last = rows[0]?.last == null ? undefined : Number(rows[0].last);
      if (last !== undefined && ack.sequenceNumber <= last) {
        await client.query('ROLLBACK');
        return { committed: false, lastSequenceNumber: last };
      }
      // A suspension that commits first is seen here; one that comes later waits for this commit (the row lock).
      const standing = await client.query<{ status: string }>('SELECT status FROM organisations WHERE code = $1 FOR SHARE', [this.laCode]);
      if (standing.rows[0]?.status === 'suspended') {
        await client.query('ROLLBACK');
        return { committed: false, suspended: true };
      }
      await this.checkNothingLost(client);
      await this.updateWorklist(client, ack);
      if (this.staged > 0) {
        await client.query(APPLY, [this.laCode, this.key]);
        await client.query('DELETE FROM upload_staging WHERE batch = $1', [this.key]);
      }
      await client.query(
        `INSERT INTO uploads (id, la_code, series, sequence_number, received_at, uploaded_by, result, processed, loaded, rejected, acknowledgement)
         VALUES ($1, $2, ${SERIES.replace('$1', '$2')}, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [ack.uploadId, this.laCode, ack.sequenceNumber, ack.receivedAt, audit.identity.sub, ack.result, ack.processed, ack.loaded, ack.rejected, JSON.stringify(ack)],
      );
      // Last before COMMIT: the audit chain's lane is then held only for the commit itself.
      await insertAudit(client, audit);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    await this.end();
    if (this.staged >= ANALYZE_AFTER_ROWS) await refreshPlanStatistics(this.pool);
    return { committed: true };
  }

  /** Staged rows live in an unlogged table: after a crash or a failover of PostgreSQL they are gone, and the batch must not half-load. */
  private async checkNothingLost(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<{ staged: string; refused: string; keyed: string }>(
      `SELECT (SELECT count(*) FROM upload_staging WHERE batch = $2) AS staged,
              (SELECT count(*) FROM upload_refusals WHERE upload_id = $1) AS refused,
              (SELECT count(*) FROM upload_refused_staging WHERE batch = $2) AS keyed`,
      [this.uploadId, this.key],
    );
    const row = rows[0];
    if (Number(row?.staged) !== this.staged || Number(row?.refused) !== this.refused || Number(row?.keyed) !== this.keyed)
      throw serviceUnavailable('the batch was interrupted while it was being received (the database restarted); nothing of it was loaded: send it again', 5);
  }

  async abort(audit?: AuditEntry): Promise<void> {
    if (this.ended) return;
    this.rows = '';
    this.refusals = [];
    this.refusedKeys = [];
    // Nothing may land after the discard.
    await this.writing.catch(() => undefined);
    try {
      await discardUpload(this.pool, this.uploadId, this.key);
    } finally {
      await this.end();
    }
    // The batch wrote nothing; its refusal (or replay) is audited on its own.
    if (audit) await insertAudit(this.pool, audit);
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.renewal);
    await this.pool.query(`DELETE FROM ${this.slots} WHERE la_code = $1 AND upload_id = $2`, [this.laCode, this.uploadId]).catch(() => undefined);
  }
}
