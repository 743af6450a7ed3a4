import type { Plan } from './plan.ts';

/** The details that say who a child is: every plan held for one NHS number must agree on them. */
export const IDENTITY_FIELDS = ['familyName', 'givenNames', 'birthDate', 'postcode'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** A held plan as far as "who is this" goes. */
export type PersonPlan = Pick<Plan, 'laCode' | 'nhsNumber' | 'familyName' | 'givenNames' | 'birthDate' | 'postcode' | 'addressLines'> & {
  id: string;
  updatedAt: string;
  pdsVerifiedAt: string | null;
};

/** The person a set of plans names, the plan it was taken from, and the fields on which the plans disagree. */
export type Person = {
  nhsNumber: string;
  familyName: string;
  givenNames: string;
  birthDate: string;
  postcode: string | null;
  addressLines: string[];
  /** The plan the details are taken from. */
  source: PersonPlan;
  /** Identity fields on which some plan differs from another; empty when they all agree. */
  disagreements: IdentityField[];
};

/** The identity fields on which two plans differ (a blank postcode and none are the same). */
export function fieldsDiffering(a: Pick<Plan, IdentityField>, b: Pick<Plan, IdentityField>): IdentityField[] {
  return IDENTITY_FIELDS.filter((f) => (a[f] ?? '') !== (b[f] ?? ''));
}

const time = (instant: string | null) => (instant === null ? -Infinity : Date.parse(instant));

/**
 * The one rule for "the person" (README, One identity per NHS number), for the clinician's Patient and
 * the LA's notification alike: details PDS confirmed come before unchecked ones, the most recently
 * confirmed first; among equals, the most recently updated plan; the plan id breaks a tie.
 */
function preferred(a: PersonPlan, b: PersonPlan): PersonPlan {
  const verified = time(b.pdsVerifiedAt) - time(a.pdsVerifiedAt);
  if (verified !== 0 && !Number.isNaN(verified)) return verified > 0 ? b : a;
  const updated = time(b.updatedAt) - time(a.updatedAt);
  if (updated !== 0) return updated > 0 ? b : a;
  return b.id > a.id ? b : a;
}

/** The person the plans name; undefined with no plan. */
export function personOf(plans: readonly PersonPlan[]): Person | undefined {
  const source = plans.reduce<PersonPlan | undefined>((best, plan) => (best ? preferred(best, plan) : plan), undefined);
  if (!source) return undefined;
  const differing = new Set(plans.flatMap((p) => fieldsDiffering(source, p)));
  return {
    nhsNumber: source.nhsNumber,
    familyName: source.familyName,
    givenNames: source.givenNames,
    birthDate: source.birthDate,
    postcode: source.postcode,
    addressLines: source.addressLines,
    source,
    disagreements: IDENTITY_FIELDS.filter((f) => differing.has(f)),
  };
}
