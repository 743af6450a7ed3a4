import type { Organisation } from './organisation.ts';
import type { Plan } from './plan.ts';

/** A plan a care setting may see, with its FHIR status: active, or ended but inside its window. */
export type VisiblePlan = Plan & { id: string; status: 'active' | 'inactive'; effectiveEndDate: string | null; updatedAt: string; pdsVerifiedAt: string | null };

/** One recorded unscheduled access, as shown in the access history (docs/domain.md §5). */
export type AccessRecord = {
  id: string;
  accessedAt: string;
  userId: string;
  userName: string;
  userRole: string;
  organisationCode: string;
  organisationName: string;
  setting: string | null;
  sdsUserId: string | null;
  sdsRoleProfileId: string | null;
  jobRole: { code: string; name: string | null } | null;
};

/** What a care setting learns about one NHS number. */
export type LookupResult = {
  nhsNumber: string;
  plans: VisiblePlan[];
  organisations: Organisation[];
  accesses: AccessRecord[];
  at: Date;
};

/** Where a search's audit row is kept: the lasting audit trail, or the short-lived trail of unmatched searches. */
export type SearchAuditTrail = 'lasting' | 'unmatched';

/**
 * Not a register of all children (README, Privacy): a search that names an NHS number with no
 * visible plan, however it ended (not found, refused, invalid), is kept only briefly, so that the
 * audit trail never becomes a record of children outside the CP-IS cohort. A search naming a child
 * with a visible plan is about that child's protection and is kept with the lasting trail, refused
 * or not; so is one that names no valid NHS number, which records only who asked.
 */
export function searchAuditTrailOf(nhsNumber: string | null, visiblePlans: number): SearchAuditTrail {
  return nhsNumber !== null && visiblePlans === 0 ? 'unmatched' : 'lasting';
}
