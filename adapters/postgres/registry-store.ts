import type pg from 'pg';
import type { RefusalCount } from '../../src/domain/acknowledgement.ts';
import type { LaStanding, LaStatus, RegistryRecord } from '../../src/domain/registry.ts';
import type { LaRegistryStore } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';
import { ORGANISATION_COLUMNS, toOrganisation } from './organisation-store.ts';
import { inTransaction } from './pool.ts';

type StandingRow = {
  status: LaStatus; registered_at: Date | null; registered_by: string | null;
  status_changed_at: Date | null; status_changed_by: string | null; status_reason: string | null;
};
type ReadRow = Parameters<typeof toOrganisation>[0] & StandingRow & {
  last_received_at: Date | null; last_sequence_number: string | null; last_result: string | null; last_refusals: RefusalCount[] | null;
  plans_held: string; plans_verified: string; unacknowledged: string; oldest_unacknowledged_at: Date | null;
};

const STANDING_COLUMNS = 'status, registered_at, registered_by, status_changed_at, status_changed_by, status_reason';

const toStanding = (r: StandingRow): LaStanding => ({
  status: r.status, registeredAt: r.registered_at, registeredBy: r.registered_by,
  statusChangedAt: r.status_changed_at, statusChangedBy: r.status_changed_by, statusReason: r.status_reason,
});

/**
 * Every LA (or one, `$1`) with its standing and its feed, in one statement: the last accepted batch by
 * the index on (la_code, received_at), plans and their verification by LA, and the unacknowledged
 * notifications from their partial index (migration 0019). Counts and codes only: nothing of a child.
 */
const readSql = (one: boolean) => {
  const only = (column: string) => (one ? `WHERE ${column} = $1` : '');
  const unacknowledged = one ? 'AND la_code = $1' : '';
  return `
WITH held AS (
  SELECT la_code, count(*) AS plans_held, count(pds_verified_at) AS plans_verified FROM plans ${only('la_code')} GROUP BY la_code
), waiting AS (
  SELECT la_code, count(*) AS unacknowledged, min(occurred_at) AS oldest_unacknowledged_at
  FROM notifications WHERE acknowledged_at IS NULL ${unacknowledged} GROUP BY la_code
)
SELECT ${ORGANISATION_COLUMNS.split(', ').map((c) => `o.${c}`).join(', ')}, ${STANDING_COLUMNS.split(', ').map((c) => `o.${c}`).join(', ')},
       u.received_at AS last_received_at, u.sequence_number AS last_sequence_number, u.result AS last_result, u.refusal_counts AS last_refusals,
       coalesce(h.plans_held, 0) AS plans_held, coalesce(h.plans_verified, 0) AS plans_verified,
       coalesce(w.unacknowledged, 0) AS unacknowledged, w.oldest_unacknowledged_at
FROM organisations o
LEFT JOIN LATERAL (
  SELECT received_at, sequence_number, result, refusal_counts FROM uploads WHERE la_code = o.code ORDER BY received_at DESC LIMIT 1
) u ON true
LEFT JOIN held h ON h.la_code = o.code
LEFT JOIN waiting w ON w.la_code = o.code
${only('o.code')}
ORDER BY o.code`;
};
const READ_ALL = readSql(false);
const READ_ONE = readSql(true);

const toRecord = (r: ReadRow): RegistryRecord => ({
  organisation: toOrganisation(r),
  standing: toStanding(r),
  reading: {
    lastUpload: r.last_received_at === null ? null : {
      receivedAt: r.last_received_at, sequenceNumber: Number(r.last_sequence_number), result: r.last_result as string, refusals: r.last_refusals ?? [],
    },
    plansHeld: Number(r.plans_held),
    plansVerified: Number(r.plans_verified),
    unacknowledged: Number(r.unacknowledged),
    oldestUnacknowledgedAt: r.oldest_unacknowledged_at,
  },
});

// Registers a new LA, or one that set itself up; an LA an operator registered already is left as it is.
const REGISTER = `
INSERT INTO organisations AS o (code, name, office_hours_phone, edt_phone, office_hours, registered_at, registered_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, office_hours_phone = EXCLUDED.office_hours_phone, edt_phone = EXCLUDED.edt_phone,
  office_hours = EXCLUDED.office_hours, registered_at = EXCLUDED.registered_at, registered_by = EXCLUDED.registered_by, updated_at = now()
WHERE o.registered_at IS NULL
RETURNING o.code`;

const CHANGE_STATUS = `
UPDATE organisations SET status = $3, status_changed_at = $4, status_changed_by = $5, status_reason = $6, updated_at = now()
WHERE code = $1 AND status = $2
RETURNING ${STANDING_COLUMNS}`;

/** The LA registry in PostgreSQL, on the general pool: each change and its audit row in one transaction. */
export function createPostgresRegistryStore(pool: pg.Pool): LaRegistryStore {
  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await inTransaction(client, () => work(client));
    } finally {
      client.release();
    }
  };
  return {
    async standingOf(code) {
      const { rows } = await pool.query<StandingRow>(`SELECT ${STANDING_COLUMNS} FROM organisations WHERE code = $1`, [code]);
      return rows[0] && toStanding(rows[0]);
    },
    register: (o, audit) =>
      transaction(async (client) => {
        const { rowCount } = await client.query(REGISTER, [
          o.code, o.name, o.officeHoursPhone?.e164 ?? null, o.edtPhone?.e164 ?? null, JSON.stringify(o.officeHours), audit.at, audit.identity.sub,
        ]);
        if (rowCount !== 1) return false;
        // Last in the transaction: the audit chain's lane is then held only for the commit.
        await insertAudit(client, audit);
        return true;
      }),
    changeStatus: (code, from, to, reason, audit) =>
      transaction(async (client) => {
        const changed = await client.query<StandingRow>(CHANGE_STATUS, [code, from, to, audit.at, audit.identity.sub, reason]);
        if (changed.rows[0]) {
          await insertAudit(client, audit);
          return { changed: true, standing: toStanding(changed.rows[0]) };
        }
        const { rows } = await client.query<StandingRow>(`SELECT ${STANDING_COLUMNS} FROM organisations WHERE code = $1`, [code]);
        return rows[0] && { changed: false, standing: toStanding(rows[0]) };
      }),
    async read(code) {
      const { rows } = code === undefined ? await pool.query<ReadRow>(READ_ALL) : await pool.query<ReadRow>(READ_ONE, [code]);
      return rows.map(toRecord);
    },
  };
}
