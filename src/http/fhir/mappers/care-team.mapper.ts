import type { CareTeam } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import type { Organisation } from '../../../domain/organisation.ts';
import { PLAN_TYPE_DISPLAY } from '../code-systems.ts';
import { fhirId, fhirText } from './fhir-values.ts';
import { lacLegalStatusExtension, planMeta, planPeriod, planTypeConcept } from './plan-elements.ts';
import { organisationReference, patientReference } from './references.ts';

/**
 * One visible plan as a CareTeam: the LA team responsible for the child
 * (https://hl7.org/fhir/R4/careteam.html). `org` is the plan's LA (plan.laCode === org.code).
 * UKCore-CareTeam only marks status, subject and participant Must Support; the service knows no team
 * members (the LA sends none), so `participant` is absent and the LA is the managingOrganization.
 */
export function toCareTeam(plan: VisiblePlan, org: Organisation): CareTeam {
  const laName = fhirText(org.name);
  return {
    resourceType: 'CareTeam',
    id: fhirId(plan.id),
    meta: planMeta(plan, 'CareTeam'),
    ...lacLegalStatusExtension(plan.lacLegalStatus),
    status: plan.status,
    category: [planTypeConcept(plan.planType)],
    name: laName ? `${PLAN_TYPE_DISPLAY[plan.planType]} (${laName})` : PLAN_TYPE_DISPLAY[plan.planType],
    subject: patientReference(plan.nhsNumber),
    period: planPeriod(plan),
    managingOrganization: [organisationReference(org)],
  };
}
