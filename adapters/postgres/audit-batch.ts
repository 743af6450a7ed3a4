import type { AuditEntry } from '../../src/ports.ts';
import { auditValues } from './audit.ts';

// The columns of auditValues(), as arrays ($1–$13): one statement inserts a whole group of rows.
const ARRAYS = `unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
  $9::text[], $10::text[], $11::boolean[], $12::text[], $13::jsonb[])`;
const COLUMNS = `(recorded_at, action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, setting,
  nhs_number, unscheduled, request_id, detail)`;
const TABLES = { audit: 'audit_events', unmatched: 'unmatched_search_events' } as const;

export type AuditTrailName = keyof typeof TABLES;

/** An INSERT of many rows into the trail named, taking the columnsOf() arrays as $1–$13. */
export const insertManySql = (trail: AuditTrailName) => `INSERT INTO ${TABLES[trail]} ${COLUMNS} SELECT * FROM ${ARRAYS}`;

/** Column-wise parameters of a group of rows: the i-th array holds the i-th value of every row. */
export function columnsOf(entries: AuditEntry[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 13 }, () => []);
  for (const entry of entries) auditValues(entry).forEach((value, i) => (columns[i] as unknown[]).push(value));
  return columns;
}
