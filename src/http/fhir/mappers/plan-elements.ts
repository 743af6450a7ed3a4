import type { CodeableConcept, Extension, Meta, Period } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import type { LacLegalStatus, PlanType } from '../../../domain/plan.ts';
import { CPIS_EXTENSION, CPIS_SYSTEM, LAC_LEGAL_STATUS_DISPLAY, PLAN_TYPE_DISPLAY } from '../code-systems.ts';
import { metaProfile } from '../profiles.ts';
import { fhirInstant } from './fhir-values.ts';

// Elements CareTeam and Flag share, so that both views of a plan read the same.

/** The plan type as a CodeableConcept in the service's plan-type system. */
export function planTypeConcept(planType: PlanType): CodeableConcept {
  const display = PLAN_TYPE_DISPLAY[planType];
  return { coding: [{ system: CPIS_SYSTEM.planType, code: planType, display }], text: display };
}

/** The LAC legal status extension, as a property to spread into a resource (absent when null). */
export function lacLegalStatusExtension(status: LacLegalStatus | null): { extension?: Extension[] } {
  if (!status) return {};
  const display = LAC_LEGAL_STATUS_DISPLAY[status];
  const valueCodeableConcept = { coding: [{ system: CPIS_SYSTEM.lacLegalStatus, code: status, display }], text: display };
  return { extension: [{ url: CPIS_EXTENSION.lacLegalStatus, valueCodeableConcept }] };
}

/** From the start date to the date the plan stops being in force, if known. */
export function planPeriod(plan: VisiblePlan): Period {
  return { start: plan.startDate, ...(plan.effectiveEndDate ? { end: plan.effectiveEndDate } : {}) };
}

/** When the plan last changed, so a client can tell how fresh the flag is, and the profiles the view of it meets. */
export function planMeta(plan: VisiblePlan, resourceType: 'CareTeam' | 'Flag'): Meta {
  return { lastUpdated: fhirInstant(plan.updatedAt), profile: metaProfile(resourceType) };
}
