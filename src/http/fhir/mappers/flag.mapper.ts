import type { Flag } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import type { Organisation } from '../../../domain/organisation.ts';
import { HL7_SYSTEM } from '../code-systems.ts';
import { fhirId } from './fhir-values.ts';
import { lacLegalStatusExtension, planMeta, planPeriod, planTypeConcept } from './plan-elements.ts';
import { organisationReference, patientReference } from './references.ts';

// "safety" is the closest HL7 flag category; the text says what kind of safety a clinician reads
// (https://hl7.org/fhir/R4/codesystem-flag-category.html).
const SAFEGUARDING = {
  coding: [{ system: HL7_SYSTEM.flagCategory, code: 'safety', display: 'Safety' }],
  text: 'Safeguarding',
};

/**
 * One visible plan as a Flag, the shape NHS Patient Flags clients follow
 * (https://hl7.org/fhir/R4/flag.html). `org` is the plan's LA (plan.laCode === org.code).
 */
export function toFlag(plan: VisiblePlan, org: Organisation): Flag {
  return {
    resourceType: 'Flag',
    id: fhirId(plan.id),
    meta: planMeta(plan, 'Flag'),
    ...lacLegalStatusExtension(plan.lacLegalStatus),
    status: plan.status,
    category: [SAFEGUARDING],
    code: planTypeConcept(plan.planType),
    subject: patientReference(plan.nhsNumber),
    period: planPeriod(plan),
    author: organisationReference(org),
  };
}
