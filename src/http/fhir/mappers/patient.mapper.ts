import type { Address, Extension, HumanName, Patient } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import { personOf, type Person } from '../../../domain/person.ts';
import { IDENTIFIER_SYSTEM, NHS_NUMBER_VERIFICATION, UK_CORE_EXTENSION, UK_CORE_SYSTEM } from '../code-systems.ts';
import { fhirId, fhirInstant, fhirText } from './fhir-values.ts';

/**
 * The child as a Patient (https://hl7.org/fhir/R4/patient.html): the person the held plans name, by
 * the one rule of domain/person.ts (the same the LA's notification uses), with whether PDS confirmed
 * those details on the NHS number. With no plans only the NHS number is known.
 */
export function toPatient(nhsNumber: string, plans: readonly VisiblePlan[]): Patient {
  const person = personOf(plans);
  if (!person) return { resourceType: 'Patient', id: fhirId(nhsNumber), identifier: [{ system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber }] };
  const identifier = [{ extension: [verificationOf(person)], system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber }];
  const name = nameOf(person);
  const address = addressOf(person);
  return {
    resourceType: 'Patient',
    id: fhirId(nhsNumber),
    meta: { lastUpdated: fhirInstant(person.source.updatedAt) },
    identifier,
    ...(name ? { name: [name] } : {}),
    birthDate: person.birthDate,
    ...(address ? { address: [address] } : {}),
  };
}

/** Whether PDS confirmed the details shown, as UK Core says it on the NHS number. */
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

function addressOf(person: Person): Address | undefined {
  const line = person.addressLines.map(fhirText).filter((l): l is string => l !== undefined);
  const postalCode = fhirText(person.postcode);
  if (line.length === 0 && !postalCode) return undefined;
  return { use: 'home', ...(line.length ? { line } : {}), ...(postalCode ? { postalCode } : {}) };
}
