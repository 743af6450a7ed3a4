import type pg from 'pg';
import type { AuditEntry } from '../../src/ports.ts';
import { auditValues, insertAudit, insertUnmatchedSearch } from './audit.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

// The columns of auditValues(), as arrays: one statement inserts a whole batch (one round trip, one commit).
const ARRAYS = `unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
  $9::text[], $10::text[], $11::boolean[], $12::text[], $13::jsonb[])`;
const COLUMNS = `(recorded_at, action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, setting,
  nhs_number, unscheduled, request_id, detail)`;
const INSERT_MANY = {
  audit: `INSERT INTO audit_events ${COLUMNS} SELECT * FROM ${ARRAYS}`,
  unmatched: `INSERT INTO unmatched_search_events ${COLUMNS} SELECT * FROM ${ARRAYS}`,
} as const;

export type AuditTrailName = keyof typeof INSERT_MANY;
type Waiting = { entry: AuditEntry; done: () => void; failed: (error: unknown) => void };

/** Column-wise parameters of a batch: the i-th array holds the i-th value of every row. */
function columnsOf(entries: AuditEntry[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 13 }, () => []);
  for (const entry of entries) auditValues(entry).forEach((value, i) => (columns[i] as unknown[]).push(value));
  return columns;
}

/**
 * Group commit for the audit rows of lookups that write nothing else (README, Performance): rows
 * that arrive while earlier batches are being written wait, and go together in one INSERT, which
 * PostgreSQL commits as one transaction with one WAL flush. Each caller's promise settles only when
 * its row is committed (or has failed): nothing is answered before its audit row is durable.
 * A batch that fails for any reason but the database being unreachable is written again row by
 * row, so one row the database refuses cannot take others' answers with it.
 */
export function createAuditBatcher(pool: pg.Pool, options: { maxBatch: number; maxInFlight: number }) {
  const pending: Record<AuditTrailName, Waiting[]> = { audit: [], unmatched: [] };
  let inFlight = 0;

  const single = (trail: AuditTrailName, entry: AuditEntry) => (trail === 'audit' ? insertAudit(pool, entry) : insertUnmatchedSearch(pool, entry));

  async function write(trail: AuditTrailName, batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Waiting];
      await single(trail, only.entry).then(only.done, only.failed);
      return;
    }
    try {
      await pool.query({ name: `audit-insert-many-${trail}`, text: INSERT_MANY[trail], values: columnsOf(batch.map((w) => w.entry)) });
    } catch (error) {
      // Unreachable: every row would fail alike. Otherwise find the one at fault by writing each alone.
      if (isDatabaseUnavailable(error)) return void batch.forEach((w) => w.failed(error));
      await Promise.all(batch.map((w) => single(trail, w.entry).then(w.done, w.failed)));
      return;
    }
    for (const w of batch) w.done();
  }

  function pump(): void {
    while (inFlight < options.maxInFlight) {
      const trail: AuditTrailName | undefined = pending.audit.length ? 'audit' : pending.unmatched.length ? 'unmatched' : undefined;
      if (!trail) return;
      const batch = pending[trail].splice(0, options.maxBatch);
      inFlight++;
      void write(trail, batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    /** Resolves once the row is committed in the trail named. */
    record(trail: AuditTrailName, entry: AuditEntry): Promise<void> {
      return new Promise<void>((done, failed) => {
        pending[trail].push({ entry, done, failed });
        pump();
      });
    },
  };
}
