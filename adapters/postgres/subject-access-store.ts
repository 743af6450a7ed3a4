import type pg from 'pg';
import type { HeldRow, SubjectAccessSnapshot, SubjectAccessStore } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';

/**
 * Every table that holds an NHS number, and what the export reads from it. A table with an
 * NHS-number column missing here makes the export refuse to run (see UNCOVERED).
 */
export const SUBJECT_ACCESS_TABLES = [
  'plans', 'accesses', 'notifications', 'audit_events', 'unmatched_search_events', 'pds_rechecks', 'upload_staging', 'upload_refused_staging', 'refused_records',
] as const;

// The audit hash chain's bookkeeping: integrity data about the row, not data about the person.
const AUDIT_CHAIN_COLUMNS = ['seq', 'lane', 'prev_hash', 'hash'];

// Rows are read whole (to_jsonb), so columns added by later migrations are exported too; these
// orders only fix where the known columns appear. Anything else follows in alphabetical order.
const ORDER = {
  plans: ['id', 'laCode', 'laName', 'nhsNumber', 'planType', 'lacLegalStatus', 'startDate', 'endDate', 'deleteDate', 'familyName',
    'givenNames', 'birthDate', 'postcode', 'addressLines', 'localId', 'createdAt', 'updatedAt'],
  accesses: ['id', 'nhsNumber', 'accessedAt', 'userId', 'userName', 'userRole', 'organisationCode', 'organisationName', 'setting', 'requestId'],
  notifications: ['laCode', 'laName', 'eventNumber', 'type', 'occurredAt', 'nhsNumber', 'acknowledgedAt', 'acknowledgedBy', 'body'],
  auditEntries: ['id', 'recordedAt', 'action', 'outcome', 'userId', 'userName', 'userRole', 'organisationCode', 'organisationName',
    'setting', 'nhsNumber', 'unscheduled', 'requestId', 'detail'],
  unmatchedSearches: ['id', 'recordedAt', 'action', 'outcome', 'userId', 'userName', 'userRole', 'organisationCode', 'organisationName',
    'setting', 'nhsNumber', 'unscheduled', 'requestId', 'detail'],
  pdsRechecks: ['nhsNumber', 'nextCheckAt', 'leasedUntil', 'lastCheckedAt'],
  uploadsInProgress: ['batch', 'idx', 'nhsNumber', 'planType', 'startDate', 'endDate', 'deleteDate', 'lacLegalStatus', 'familyName',
    'givenNames', 'birthDate', 'postcode', 'addressLines', 'localId'],
  refusedRecords: ['laCode', 'laName', 'nhsNumber', 'result', 'code', 'field', 'message', 'firstSeenAt', 'lastSeenAt', 'lastUploadId', 'lastIndex'],
} as const;

// $1 is the NHS number as the char(10) columns hold it (so their indexes serve), $2 the same as
// text for searching JSON documents: an inactive-nhs-number notification or audit row names the
// replacement number in its body, and that too is about this person.
const NAMES_IN_JSON = (column: string) => `jsonb_path_exists(${column}, '$.** ? (@ == $n)', jsonb_build_object('n', $2::text))`;

const PLANS = `
SELECT to_jsonb(p) || jsonb_build_object('la_name', o.name) AS row
FROM plans p LEFT JOIN organisations o ON o.code = p.la_code
WHERE p.nhs_number = $1
ORDER BY p.la_code, p.start_date, p.plan_type, p.id`;

const ACCESSES = `
SELECT to_jsonb(a) AS row FROM accesses a
WHERE a.nhs_number = $1
ORDER BY a.accessed_at, a.id`;

const NOTIFICATIONS = `
SELECT to_jsonb(n) || jsonb_build_object('la_name', o.name) AS row
FROM notifications n LEFT JOIN organisations o ON o.code = n.la_code
WHERE n.nhs_number = $1 OR ${NAMES_IN_JSON('n.body')}
ORDER BY n.occurred_at, n.la_code, n.event_number`;

const AUDIT = `
SELECT to_jsonb(a) - $3::text[] AS row FROM audit_events a
WHERE a.nhs_number = $1 OR ${NAMES_IN_JSON('a.detail')}
ORDER BY a.recorded_at, a.id`;

// Searches that found no visible plan for the person, while UNMATCHED_SEARCH_RETENTION_DAYS keeps them.
const UNMATCHED_SEARCHES = `
SELECT to_jsonb(u) - $2::text[] AS row FROM unmatched_search_events u
WHERE u.nhs_number = $1
ORDER BY u.recorded_at, u.id`;

const PDS_RECHECKS = `SELECT to_jsonb(r) AS row FROM pds_rechecks r WHERE r.nhs_number = $1`;
// Records of batches still being received: not yet held, but received about the person.
// A refused record of such a batch is known only by its NHS number, batch and index (migration 0020).
const UPLOADS_IN_PROGRESS = `
SELECT row FROM (
  SELECT s.batch, s.idx, to_jsonb(s) AS row FROM upload_staging s WHERE s.nhs_number = $1
  UNION ALL
  SELECT r.batch, r.idx, to_jsonb(r) || '{"refused": true}' FROM upload_refused_staging r WHERE r.nhs_number = $1
) u ORDER BY batch, idx`;
// The LAs' refusals worklists: a child whose latest record was refused (codes and field names, no contents).
const REFUSED_RECORDS = `
SELECT to_jsonb(r) || jsonb_build_object('la_name', o.name) AS row
FROM refused_records r LEFT JOIN organisations o ON o.code = r.la_code
WHERE r.nhs_number = $1
ORDER BY r.la_code`;

// Base tables of this schema with a column that looks like it holds an NHS number.
const UNCOVERED = `
SELECT DISTINCT c.table_name AS name
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name LIKE '%nhs_number%'
  AND NOT (c.table_name = ANY($1::text[]))
ORDER BY 1`;

// With the session in UTC, PostgreSQL writes instants as e.g. 2025-03-01T09:30:00.123456+00:00.
const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;

const camelCase = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** One row as exported: camelCase keys, known columns first in a fixed order, instants as JavaScript ISO strings. */
export function shapeRow(row: Record<string, unknown>, order: readonly string[]): HeldRow {
  const entries = Object.entries(row).map(([key, value]): [string, unknown] => [
    camelCase(key),
    typeof value === 'string' && UTC_INSTANT.test(value) ? new Date(value).toISOString() : value,
  ]);
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

async function rowsOf(client: pg.PoolClient, text: string, values: unknown[], order: readonly string[]): Promise<HeldRow[]> {
  const { rows } = await client.query<{ row: Record<string, unknown> }>(text, values);
  return rows.map((r) => shapeRow(r.row, order));
}

/** Subject access over PostgreSQL: one REPEATABLE READ, READ ONLY transaction, so the parts agree with each other. */
export function createPostgresSubjectAccessStore(pool: pg.Pool): SubjectAccessStore {
  return {
    async readSnapshot(nhsNumber) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await client.query(`SET LOCAL TimeZone = 'UTC'`);
        const key = [nhsNumber, nhsNumber];
        const snapshot: SubjectAccessSnapshot = {
          plans: await rowsOf(client, PLANS, [nhsNumber], ORDER.plans),
          accesses: await rowsOf(client, ACCESSES, [nhsNumber], ORDER.accesses),
          notifications: await rowsOf(client, NOTIFICATIONS, key, ORDER.notifications),
          auditEntries: await rowsOf(client, AUDIT, [...key, AUDIT_CHAIN_COLUMNS], ORDER.auditEntries),
          unmatchedSearches: await rowsOf(client, UNMATCHED_SEARCHES, [nhsNumber, AUDIT_CHAIN_COLUMNS], ORDER.unmatchedSearches),
          pdsRechecks: await rowsOf(client, PDS_RECHECKS, [nhsNumber], ORDER.pdsRechecks),
          uploadsInProgress: await rowsOf(client, UPLOADS_IN_PROGRESS, [nhsNumber], ORDER.uploadsInProgress),
          refusedRecords: await rowsOf(client, REFUSED_RECORDS, [nhsNumber], ORDER.refusedRecords),
          uncoveredTables: (await client.query<{ name: string }>(UNCOVERED, [SUBJECT_ACCESS_TABLES])).rows.map((r) => r.name),
        };
        await client.query('COMMIT');
        return snapshot;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async recordAudit(entry) {
      await insertAudit(pool, entry);
    },
  };
}
