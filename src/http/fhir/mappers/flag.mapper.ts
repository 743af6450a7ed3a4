import type { CodeableConcept, Flag, Provenance } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import type { Organisation } from '../../../domain/organisation.ts';
import { CPIS_PATIENT_FLAG, HL7_EXTENSION, HL7_SYSTEM, NHS_ENGLAND_SYSTEM } from '../code-systems.ts';
import { PATIENT_FLAG_PROFILES } from '../profiles.ts';
import { fhirId, fhirInstant } from './fhir-values.ts';
import { lacLegalStatusExtension, planMeta, planPeriod, planTypeConcept } from './plan-elements.ts';
import { organisationReference, patientReference } from './references.ts';

// "safety" is the closest HL7 flag category; the text says what kind of safety a clinician reads
// (https://hl7.org/fhir/R4/codesystem-flag-category.html).
const SAFEGUARDING = {
  coding: [{ system: HL7_SYSTEM.flagCategory, code: 'safety', display: 'Safety' }],
  text: 'Safeguarding',
};

/** The id of the one contained Provenance, unique within the Flag. */
const PROVENANCE_ID = 'provenance';

/**
 * One visible plan as a Flag (https://hl7.org/fhir/R4/flag.html) meeting UKCore-Flag and NHS England's
 * Patient Flags PatientFlag profile (see profiles.ts for the pages). `org` is the plan's LA (plan.laCode === org.code).
 */
export function toFlag(plan: VisiblePlan, org: Organisation): Flag {
  return {
    resourceType: 'Flag',
    id: fhirId(plan.id),
    meta: planMeta(plan, 'Flag'),
    contained: [provenanceOf(plan, org)],
    ...lacLegalStatusExtension(plan.lacLegalStatus),
    status: plan.status,
    category: [SAFEGUARDING],
    code: flagCode(plan),
    subject: patientReference(plan.nhsNumber),
    period: planPeriod(plan),
    author: organisationReference(org),
  };
}

// PatientFlag binds Flag.code (required) to PatientFlagCategory, whose CP-IS code says which national flag this is
// (https://nhsdigital.github.io/ra-sandbox/StructureDefinition-PatientFlag-definitions.html). The plan type stays the
// first coding: it is the same concept at a finer grain (a CPP is a CP-IS flag), and clients already read it there.
function flagCode(plan: VisiblePlan): CodeableConcept {
  const planType = planTypeConcept(plan.planType);
  return { ...planType, coding: [...(planType.coding ?? []), { system: NHS_ENGLAND_SYSTEM.patientFlagCategory, ...CPIS_PATIENT_FLAG }] };
}

/**
 * Who recorded the flag and when, as PatientFlag wants it: one contained Provenance (FlagProvenance) whose target
 * is the Flag itself ("#", as NHS England's examples do, https://github.com/NHSDigital/ra-sandbox,
 * input/fsh/examples/CPISPatientFlagExample1.fsh). The LA is who the plan was recorded for (onBehalfOf, and the
 * author); `recorded` is when the service stored the LA's current version of it. FlagProvenance lets agent.who be only
 * a Practitioner, and the LA's system sends no person, so who says that it is unknown
 * (https://hl7.org/fhir/R4/extension-data-absent-reason.html). Whether that version created or updated the plan
 * is not kept, so there is no activity.
 */
function provenanceOf(plan: VisiblePlan, org: Organisation): Provenance {
  return {
    resourceType: 'Provenance',
    id: PROVENANCE_ID,
    meta: { profile: [PATIENT_FLAG_PROFILES.provenance] },
    target: [{ reference: '#' }],
    recorded: fhirInstant(plan.updatedAt),
    agent: [
      {
        type: { coding: [{ system: HL7_SYSTEM.provenanceParticipantType, code: 'author', display: 'Author' }] },
        who: { extension: [{ url: HL7_EXTENSION.dataAbsentReason, valueCode: 'unknown' }] },
        onBehalfOf: organisationReference(org),
      },
    ],
  };
}
