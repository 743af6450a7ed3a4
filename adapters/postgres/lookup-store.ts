import type pg from 'pg';
import type { Identity } from '../../src/domain/identity.ts';
import type { AccessRecord } from '../../src/domain/lookup.ts';
import type { NotificationBody } from '../../src/domain/notification.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import type { AuditEntry, HeldPlan, LookupStore } from '../../src/ports.ts';
import { columnsOf, insertManySql, type AuditTrailName } from './audit-batch.ts';
import { createGroup } from './group.ts';
import type { RegisterCache } from './register-cache.ts';
import { SELECT_PLANS_WITH_LAS, toHeldPlans, type HeldPlanRow } from './held-plans.ts';

// bpchar[]: the column is char(10), and a text[] would compare as text and miss the index.
const FIND_MANY = `${SELECT_PLANS_WITH_LAS} WHERE p.nhs_number = ANY ($1::bpchar[]) ORDER BY p.start_date DESC, p.id`;

const ACCESS_COLUMNS = `id, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting,
       sds_user_id, sds_role_profile_id, job_role_code, job_role_name`;

/** A group of search audit rows, and in the same statement the latest accesses of each child asked for ($14, $15). */
const auditAndHistorySql = (trail: AuditTrailName) => `
WITH audited AS (${insertManySql(trail)})
SELECT n.position, h.* FROM unnest($14::bpchar[], $15::integer[]) WITH ORDINALITY AS n(nhs, lim, position)
CROSS JOIN LATERAL (SELECT ${ACCESS_COLUMNS} FROM accesses WHERE nhs_number = n.nhs ORDER BY accessed_at DESC, id DESC LIMIT n.lim) h
WHERE n.lim > 0
ORDER BY n.position, h.accessed_at DESC, h.id DESC`;

type AccessRow = {
  id: string | number; accessed_at: Date | string; user_id: string; user_name: string; user_role: string; organisation_code: string;
  organisation_name: string; setting: string | null; sds_user_id: string | null; sds_role_profile_id: string | null;
  job_role_code: string | null; job_role_name: string | null;
};

/** An accesses row, as a column row or as the JSON record_accesses() returns (where the time is a string). */
const toAccess = (r: AccessRow): AccessRecord => ({
  id: String(r.id),
  accessedAt: new Date(r.accessed_at).toISOString(),
  userId: r.user_id,
  userName: r.user_name,
  userRole: r.user_role,
  organisationCode: r.organisation_code,
  organisationName: r.organisation_name,
  setting: r.setting,
  sdsUserId: r.sds_user_id,
  sdsRoleProfileId: r.sds_role_profile_id,
  jobRole: r.job_role_code ? { code: r.job_role_code, name: r.job_role_name } : null,
});

/** The agent record_accesses() stores: the token's identity, with its national identity when it has one. */
function agentOf(identity: Identity) {
  return {
    userId: identity.sub, userName: identity.name, userRole: identity.role, organisationCode: identity.org,
    organisationName: identity.orgName, setting: identity.setting ?? null, sdsUserId: identity.sdsUserId ?? null,
    sdsRoleProfileId: identity.sdsRoleProfileId ?? null, jobRoleCode: identity.jobRole?.code ?? null, jobRoleName: identity.jobRole?.name ?? null,
  };
}

export type Held = { plans: HeldPlan[]; organisations: Organisation[] };
type Search = { audit: AuditEntry; historyLimit: number };
type Access = Search & { notifications: { laCode: string; body: NotificationBody }[] };
type Recorded = { created: { laCode: string; eventNumber: number }[]; history: AccessRecord[] };

export type LookupStoreOptions = {
  maxInFlight: number; maxBatch: number;
  /** How long a lookup may queue behind groups on their way before it is answered 503 (DB_ACQUIRE_TIMEOUT_MS). */
  maxWaitMs?: number;
};

// Two groups of each kind in flight by default. One would make bigger groups (README, Benchmarks:
// 5.7 lookups instead of 3.6, and 20-30 % less PostgreSQL CPU per lookup), but a group waiting on a
// lock then holds back every lookup of its kind until maxWaitMs answers them 503; with two, the next
// group still goes.
const DEFAULTS: LookupStoreOptions = { maxInFlight: 2, maxBatch: 256 };

/**
 * Lookups against PostgreSQL in groups (group.ts, README "Performance"). Lookups that arrive while
 * earlier ones are on their way go together: their reads of the register in one statement; the
 * audit rows of searches that record nothing else in one INSERT per trail, which also reads the
 * children's access history; and the accesses of unscheduled lookups, with their notifications,
 * audit rows and histories, in one call of record_accesses() (migration 0015). Every write is one
 * statement, so one transaction and one commit for the group; each lookup hears back only about
 * its own rows, and only once they are committed. With a read model (register-cache.ts), the
 * register is read only for NHS numbers it does not hold; the writes are the same either way.
 */
export function createPostgresLookupStore(pool: pg.Pool, overrides: Partial<LookupStoreOptions> = {}, cache?: RegisterCache<Held>): LookupStore {
  const options: LookupStoreOptions = { ...DEFAULTS, ...overrides };
  const find = createGroup<string, Held>({
    ...options,
    // Named statements are parsed and planned once per connection: the lookup path runs them thousands of times a second.
    many: async (nhsNumbers) => {
      const { rows } = await pool.query<HeldPlanRow>({ name: 'lookup-find-many', text: FIND_MANY, values: [nhsNumbers] });
      const byNhs = new Map<string, HeldPlanRow[]>();
      for (const row of rows) {
        const held = byNhs.get(row.nhs_number);
        if (held) held.push(row);
        else byNhs.set(row.nhs_number, [row]);
      }
      return nhsNumbers.map((n) => toHeldPlans(byNhs.get(n) ?? []));
    },
  });

  const searchGroup = (trail: AuditTrailName) => {
    const text = auditAndHistorySql(trail);
    return createGroup<Search, AccessRecord[]>({
      ...options,
      many: async (searches) => {
        const { rows } = await pool.query<AccessRow & { position: string }>({
          name: `lookup-audit-${trail}`, text,
          values: [...columnsOf(searches.map((s) => s.audit)), searches.map((s) => s.audit.nhsNumber), searches.map((s) => s.historyLimit)],
        });
        const histories: AccessRecord[][] = searches.map(() => []);
        for (const row of rows) histories[Number(row.position) - 1]?.push(toAccess(row));
        return histories;
      },
    });
  };
  const searches = { audit: searchGroup('audit'), unmatched: searchGroup('unmatched') };

  const accesses = createGroup<Access, Recorded>({
    ...options,
    many: async (items) => {
      const { rows } = await pool.query<{ item_position: number; notified_la: string | null; notified_event: string | null; history: AccessRow[] | null }>({
        name: 'lookup-record-accesses',
        text: 'SELECT item_position, notified_la, notified_event, history FROM record_accesses($1)',
        values: [JSON.stringify(items.map(({ audit, notifications, historyLimit }) => ({
          nhsNumber: audit.nhsNumber, at: audit.at, agent: agentOf(audit.identity), requestId: audit.requestId, action: audit.action,
          notifications, historyLimit,
        })))],
      });
      const recorded: Recorded[] = items.map(() => ({ created: [], history: [] }));
      for (const r of rows) {
        const mine = recorded[r.item_position - 1];
        if (!mine) continue;
        if (r.history) mine.history = r.history.map(toAccess);
        else if (r.notified_la !== null) mine.created.push({ laCode: r.notified_la, eventNumber: Number(r.notified_event) });
      }
      return recorded;
    },
  });

  return {
    // Through the read model when there is one (register-cache.ts): it reads the register only for what it does not hold.
    findByNhsNumber: cache ? (nhsNumber) => cache.read(nhsNumber, find) : (nhsNumber) => find(nhsNumber),
    recordAccess: (audit, notifications, historyLimit) => accesses({ audit, notifications, historyLimit }),
    recordAudit: (audit, trail, historyLimit) => searches[trail === 'unmatched' ? 'unmatched' : 'audit']({ audit, historyLimit }),
  };
}
