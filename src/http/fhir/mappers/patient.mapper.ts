import type { Address, Extension, HumanName, Patient } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import { personOf, type Person } from '../../../domain/person.ts';
import { IDENTIFIER_SYSTEM, NHS_NUMBER_VERIFICATION, UK_CORE_EXTENSION, UK_CORE_SYSTEM } from '../code-systems.ts';
import { metaProfile } from '../profiles.ts';
import { fhirId, fhirInstant, fhirText } from './fhir-values.ts';

/**
 * The child as a Patient (https://hl7.org/fhir/R4/patient.html) meeting UKCore-Patient: the person the held
 * plans name, by the one rule of domain/person.ts (the same the LA's notification uses), with the NHS number in
 * the nhsNumber slice and whether PDS confirmed those details in UK Core's verification status extension (see
 * profiles.ts for the pages). With no plans only the NHS number is known, and nothing about its tracing.
 */
export function toPatient(nhsNumber: string, plans: readonly VisiblePlan[]): Patient {
  const person = personOf(plans);
  if (!person) {
    return { resourceType: 'Patient', id: fhirId(nhsNumber), meta: { profile: metaProfile('Patient') }, identifier: [{ system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber }] };
  }
  const identifier = [{ extension: [verificationOf(person)], system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber }];
  const name = nameOf(person);
  const address = addressOf(person);
  return {
    resourceType: 'Patient',
    id: fhirId(nhsNumber),
    meta: { lastUpdated: fhirInstant(person.source.updatedAt), profile: metaProfile('Patient') },
    identifier,
    ...(name ? { name: [name] } : {}),
    birthDate: person.birthDate,
    ...(address ? { address: [address] } : {}),
  };
}

/**
 * Whether PDS confirmed the details shown, as UK Core says it on the NHS number: 01 when the plan they come from
 * carries a PDS verification time (pdsVerifiedAt), else 02, in the England code system the extension's ValueSet
 * includes (code-systems.ts gives the pages).
 */
function verificationOf(person: Person): Extension {
  const status = person.source.pdsVerifiedAt ? NHS_NUMBER_VERIFICATION.verified : NHS_NUMBER_VERIFICATION.notTraced;
  return {
    url: UK_CORE_EXTENSION.nhsNumberVerificationStatus,
    valueCodeableConcept: { coding: [{ system: UK_CORE_SYSTEM.nhsNumberVerificationStatus, ...status }] },
  };
}

function nameOf(person: Person): HumanName | undefined {
  const family = fhirText(person.familyName);
  const given = fhirText(person.givenNames)?.split(' ') ?? [];
  if (!family && given.length === 0) return undefined;
  return { use: 'official', ...(family ? { family } : {}), ...(given.length ? { given } : {}) };
}

// UK Core's Address guidance (https://github.com/NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN,
// guides/UK-Core-Implementation-Guide-STU3-Sequence/Home/Guidance/DataTypeGuidance/Address.page.md) says use, type, line,
// city and postalCode SHOULD be present. The LA sends the lines as they are written and the postcode apart, never the
// town on its own, so the lines stay lines (no city or district is guessed from them) and the postcode is postalCode.
// It is where the child lives, so the address is physical; whether post reaches it is not known.
function addressOf(person: Person): Address | undefined {
  const line = person.addressLines.map(fhirText).filter((l): l is string => l !== undefined);
  const postalCode = fhirText(person.postcode);
  if (line.length === 0 && !postalCode) return undefined;
  return { use: 'home', type: 'physical', ...(line.length ? { line } : {}), ...(postalCode ? { postalCode } : {}) };
}
