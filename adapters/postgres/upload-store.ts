import { once } from 'node:events';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Acknowledgement } from '../../src/domain/acknowledgement.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/organisation.ts';
import type { Plan } from '../../src/domain/plan.ts';
import type { AuditEntry, BatchSession, LastBatch, UploadStore } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';

const FLUSH_BYTES = 256 * 1024;

const csv = (value: string | null): string => (value === null ? '' : `"${value.replaceAll('"', '""')}"`);
const pgArray = (lines: string[]): string => `{${lines.map((l) => `"${l.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

function toCsvLine(index: number, p: Plan): string {
  return [
    String(index), p.nhsNumber, p.planType, p.startDate, csv(p.endDate), csv(p.deleteDate), csv(p.lacLegalStatus),
    csv(p.familyName), csv(p.givenNames), p.birthDate, csv(p.postcode), csv(pgArray(p.addressLines)), csv(p.localId),
  ].join(',') + '\n';
}

const APPLY = `
WITH latest AS (
  SELECT DISTINCT ON (nhs_number, plan_type, start_date) *
  FROM upload_staging
  ORDER BY nhs_number, plan_type, start_date, idx DESC
), removed AS (
  DELETE FROM plans p USING latest l
  WHERE l.delete_date IS NOT NULL AND p.la_code = $1 AND p.nhs_number = l.nhs_number
    AND p.plan_type = l.plan_type AND p.start_date = l.start_date
)
INSERT INTO plans AS p (la_code, nhs_number, plan_type, start_date, end_date, lac_legal_status,
                   family_name, given_names, birth_date, postcode, address_lines, local_id)
SELECT $1, nhs_number, plan_type, start_date, end_date, lac_legal_status,
       family_name, given_names, birth_date, postcode, address_lines, local_id
FROM latest WHERE delete_date IS NULL
ON CONFLICT ON CONSTRAINT plans_upsert_key DO UPDATE SET
  end_date = EXCLUDED.end_date, lac_legal_status = EXCLUDED.lac_legal_status,
  family_name = EXCLUDED.family_name, given_names = EXCLUDED.given_names, birth_date = EXCLUDED.birth_date,
  postcode = EXCLUDED.postcode, address_lines = EXCLUDED.address_lines, local_id = EXCLUDED.local_id,
  updated_at = now()`;

/** A batch as one transaction on one connection, streaming valid rows into a staging table by COPY. */
class PostgresBatchSession implements BatchSession {
  private readonly client: pg.PoolClient;
  private readonly laCode: string;
  private copy: ReturnType<typeof copyStreams.from> | undefined;
  private copyDone: Promise<unknown> | undefined;
  private buffer = '';
  private staged = 0;
  private released = false;

  constructor(client: pg.PoolClient, laCode: string) {
    this.client = client;
    this.laCode = laCode;
  }

  async lastBatch(): Promise<LastBatch> {
    const { rows } = await this.client.query<{ sequence_number: string; acknowledgement: Acknowledgement }>(
      'SELECT sequence_number, acknowledgement FROM uploads WHERE la_code = $1 ORDER BY sequence_number DESC LIMIT 1',
      [this.laCode],
    );
    const row = rows[0];
    return row ? { sequenceNumber: Number(row.sequence_number), acknowledgement: row.acknowledgement } : undefined;
  }

  async stage(index: number, plan: Plan): Promise<void> {
    if (!this.copy) {
      this.copy = this.client.query(copyStreams.from('COPY upload_staging FROM STDIN (FORMAT csv)'));
      this.copyDone = once(this.copy, 'finish');
      // Surface a COPY failure at the next await rather than as an unhandled 'error' event.
      this.copyDone.catch(() => undefined);
    }
    this.buffer += toCsvLine(index, plan);
    this.staged++;
    if (this.buffer.length >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.buffer;
    this.buffer = '';
    if (chunk && this.copy && !this.copy.write(chunk)) {
      await Promise.race([once(this.copy, 'drain'), this.copyDone]);
    }
  }

  async apply(): Promise<number> {
    if (!this.copy) return 0;
    await this.flush();
    this.copy.end();
    await this.copyDone;
    await this.client.query(APPLY, [this.laCode]);
    return this.staged;
  }

  async commit(ack: Acknowledgement, audit: AuditEntry): Promise<void> {
    await this.client.query(
      `INSERT INTO uploads (id, la_code, sequence_number, received_at, uploaded_by, result, processed, loaded, rejected, acknowledgement)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [ack.uploadId, this.laCode, ack.sequenceNumber, ack.receivedAt, audit.identity.sub, ack.result, ack.processed, ack.loaded, ack.rejected, JSON.stringify(ack)],
    );
    // Last before COMMIT: the audit chain's lane is then held only for the commit itself.
    await insertAudit(this.client, audit);
    await this.client.query('COMMIT');
    this.release();
  }

  async abort(audit?: AuditEntry): Promise<void> {
    if (this.released) return;
    try {
      if (this.copy && !this.copy.writableEnded) this.copy.destroy(new Error('batch aborted'));
      await this.client.query('ROLLBACK');
    } catch {
      this.release(true);
      return;
    }
    // The batch wrote nothing; its refusal (or replay) is audited on its own, on the same connection.
    try {
      if (audit) await insertAudit(this.client, audit);
      this.release();
    } catch (error) {
      this.release(true);
      throw error;
    }
  }

  private release(broken = false): void {
    if (this.released) return;
    this.released = true;
    this.client.release(broken);
  }
}

/** Opens batch sessions on the pool; uploads of one LA are serialised by a transaction lock. */
export function createPostgresUploadStore(pool: pg.Pool): UploadStore {
  return {
    async open(laCode, organisationName) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('upload:' || $1))`, [laCode]);
        await client.query(
          `INSERT INTO organisations (code, name, office_hours) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`,
          [laCode, organisationName, JSON.stringify(DEFAULT_OFFICE_HOURS)],
        );
        await client.query(`CREATE TEMP TABLE upload_staging (
          idx integer, nhs_number text, plan_type text, start_date date, end_date date, delete_date date,
          lac_legal_status text, family_name text, given_names text, birth_date date, postcode text,
          address_lines text[], local_id text) ON COMMIT DROP`);
        return new PostgresBatchSession(client, laCode);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
        throw error;
      }
    },
  };
}
