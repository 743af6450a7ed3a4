import type { Organisation } from './organisation.ts';
import type { Plan } from './plan.ts';

/** A plan a care setting may see, with its FHIR status: active, or ended but inside its window. */
export type VisiblePlan = Plan & { id: string; status: 'active' | 'inactive'; effectiveEndDate: string | null; updatedAt: string; pdsVerifiedAt: string | null };

/** One recorded unscheduled access, as shown in the access history (domain.md §5). */
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
