import type pg from 'pg';

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
