import type pg from 'pg';
import type { Identity } from '../../src/domain/identity.ts';
import type { AccessRecord } from '../../src/domain/lookup.ts';
import type { AuditEntry, LookupStore } from '../../src/ports.ts';
import { SELECT_HELD_PLANS, toHeldPlans, type HeldPlanRow } from './held-plans.ts';
import { createAuditBatcher } from './audit-batch.ts';

const FIND = `${SELECT_HELD_PLANS}
ORDER BY p.start_date DESC, p.id`;

const RECENT = `
SELECT id, accessed_at, user_id, user_name, user_role, organisation_code, organisation_name, setting,
       sds_user_id, sds_role_profile_id, job_role_code, job_role_name
FROM accesses WHERE nhs_number = $1 ORDER BY accessed_at DESC, id DESC LIMIT $2`;

/** The agent record_access() stores: the token's identity, with its national identity when it has one. */
function agentOf(identity: Identity) {
  return {
    userId: identity.sub, userName: identity.name, userRole: identity.role, organisationCode: identity.org,
    organisationName: identity.orgName, setting: identity.setting ?? null, sdsUserId: identity.sdsUserId ?? null,
    sdsRoleProfileId: identity.sdsRoleProfileId ?? null, jobRoleCode: identity.jobRole?.code ?? null, jobRoleName: identity.jobRole?.name ?? null,
  };
}

/**
 * Lookups against PostgreSQL: one query to read, one function call to record an access, and the
 * audit rows of the other searches written together (group commit, audit-batch.ts).
 */
export function createPostgresLookupStore(pool: pg.Pool, options: { auditMaxInFlight: number } = { auditMaxInFlight: 2 }): LookupStore {
  const audits = createAuditBatcher(pool, { maxBatch: 256, maxInFlight: options.auditMaxInFlight });
  return {
    async findByNhsNumber(nhsNumber) {
      // Named statements are parsed and planned once per connection: the lookup path runs them thousands of times a second.
      const { rows } = await pool.query<HeldPlanRow>({ name: 'lookup-find', text: FIND, values: [nhsNumber] });
      return toHeldPlans(rows);
    },
    async recordAccess(audit, notifications) {
      const { rows } = await pool.query<{ la_code: string; event_number: string }>({
        name: 'lookup-record-access',
        text: 'SELECT la_code, event_number FROM record_access($1, $2, $3, $4, $5, $6)',
        values: [audit.nhsNumber, audit.at, JSON.stringify(agentOf(audit.identity)), audit.requestId, audit.action, JSON.stringify(notifications)],
      });
      return rows.map((r) => ({ laCode: r.la_code, eventNumber: Number(r.event_number) }));
    },
    async recordAudit(audit: AuditEntry, trail) {
      await audits.record(trail === 'unmatched' ? 'unmatched' : 'audit', audit);
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
          sdsUserId: r.sds_user_id,
          sdsRoleProfileId: r.sds_role_profile_id,
          jobRole: r.job_role_code ? { code: r.job_role_code, name: r.job_role_name } : null,
        }),
      );
    },
  };
}

