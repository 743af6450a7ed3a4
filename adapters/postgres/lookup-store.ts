import type pg from 'pg';
import type { AccessRecord } from '../../src/domain/lookup.ts';
import type { AuditEntry, HeldPlan, LookupStore } from '../../src/ports.ts';
import { PLAN_COLUMNS, toPlan, type PlanRow } from './plan-store.ts';
import { toOrganisation } from './organisation-store.ts';
import { insertAudit } from './audit.ts';

type Row = PlanRow & { updated_at: Date; org: Parameters<typeof toOrganisation>[0] };

const FIND = `
SELECT ${PLAN_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, p.updated_at,
       json_build_object('code', o.code, 'name', o.name, 'office_hours_phone', o.office_hours_phone,
                         'edt_phone', o.edt_phone, 'office_hours', o.office_hours) AS org
FROM plans p JOIN organisations o ON o.code = p.la_code
WHERE p.nhs_number = $1
ORDER BY p.start_date DESC, p.id`;

const RECENT = `
SELECT id, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting
FROM accesses WHERE nhs_number = $1 ORDER BY accessed_at DESC, id DESC LIMIT $2`;

/** Lookups against PostgreSQL: one query to read, one function call to record an access. */
export function createPostgresLookupStore(pool: pg.Pool): LookupStore {
  return {
    async findByNhsNumber(nhsNumber) {
      // Named statements are parsed and planned once per connection: the lookup path runs them thousands of times a second.
      const { rows } = await pool.query<Row>({ name: 'lookup-find', text: FIND, values: [nhsNumber] });
      const plans: HeldPlan[] = rows.map((r) => ({ ...toPlan(r), id: r.id, updatedAt: r.updated_at.toISOString() }));
      const organisations = [...new Map(rows.map((r) => [r.org.code, toOrganisation(r.org)])).values()];
      return { plans, organisations };
    },
    async recordAccess(audit, notifications) {
      const { rows } = await pool.query<{ la_code: string; event_number: string }>({
        name: 'lookup-record-access',
        text: 'SELECT la_code, event_number FROM record_access($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
        values: [
          audit.nhsNumber, audit.at, audit.identity.sub, audit.identity.name, audit.identity.role, audit.identity.org,
          audit.identity.orgName, audit.identity.setting ?? null, audit.requestId, audit.action, JSON.stringify(notifications),
        ],
      });
      return rows.map((r) => ({ laCode: r.la_code, eventNumber: Number(r.event_number) }));
    },
    async recordAudit(audit: AuditEntry) {
      await insertAudit(pool, audit);
    },
    async recentAccesses(nhsNumber, limit) {
      const { rows } = await pool.query({ name: 'lookup-recent', text: RECENT, values: [nhsNumber, limit] });
      return rows.map(
        (r): AccessRecord => ({
          id: String(r.id),
          accessedAt: (r.accessed_at as Date).toISOString(),
          userId: r.user_id,
          userName: r.user_name,
          userRole: r.user_role,
          organisationCode: r.organisation_code,
          organisationName: r.organisation_name,
          setting: r.setting,
        }),
      );
    },
  };
}

