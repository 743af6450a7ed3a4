import type pg from 'pg';
import type { AuditEntry } from '../../src/ports.ts';

/** The entry's detail, with the caller's national identity (SDS ids, job role) when the token carried it. */
function detailOf(a: AuditEntry): Record<string, unknown> | undefined {
  const { sdsUserId, sdsRoleProfileId, jobRole } = a.identity;
  const national = { ...(sdsUserId ? { sdsUserId } : {}), ...(sdsRoleProfileId ? { sdsRoleProfileId } : {}), ...(jobRole ? { jobRoleCode: jobRole.code } : {}) };
  return Object.keys(national).length ? { ...a.detail, ...national } : a.detail;
}

/** Parameters of one audit row, in INSERT column order. */
export function auditValues(a: AuditEntry): unknown[] {
  const detail = detailOf(a);
  return [
    a.at, a.action, a.outcome, a.identity.sub, a.identity.name, a.identity.role, a.identity.org, a.identity.orgName,
    a.identity.setting ?? null, a.nhsNumber, a.unscheduled, a.requestId, detail ? JSON.stringify(detail) : null,
  ];
}

/**
 * One audit row. Its place in the hash chain (lane, seq, prev_hash, hash) is assigned by the insert trigger
 * of migration 0006, and its recorded_at, the database's clock, by that of 0013, whatever is passed (the
 * entry's `at` is overwritten). Insert audit rows last in a transaction: the chain lane the row takes stays
 * locked until commit (see the migration).
 */
export const INSERT_AUDIT = `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_name, user_role, organisation_code,
  organisation_name, setting, nhs_number, unscheduled, request_id, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;

/** Appends one row to the audit trail, on the given pool or transaction client. */
export async function insertAudit(db: pg.Pool | pg.PoolClient, entry: AuditEntry): Promise<void> {
  await db.query({ name: 'audit-insert', text: INSERT_AUDIT, values: auditValues(entry) });
}

/** A search that found no visible plan (migration 0010): the same row, in its own chain, under its own retention. */
const INSERT_UNMATCHED_SEARCH = INSERT_AUDIT.replace('INSERT INTO audit_events', 'INSERT INTO unmatched_search_events');

/** Appends one search that found no visible plan to the unmatched-search trail. */
export async function insertUnmatchedSearch(db: pg.Pool | pg.PoolClient, entry: AuditEntry): Promise<void> {
  await db.query({ name: 'unmatched-search-insert', text: INSERT_UNMATCHED_SEARCH, values: auditValues(entry) });
}
