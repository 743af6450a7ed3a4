import type { Reference } from 'fhir/r4.d.ts';
import type { Organisation } from '../../../domain/organisation.ts';
import { IDENTIFIER_SYSTEM } from '../code-systems.ts';
import { fhirText } from './fhir-values.ts';

// References carry the business identifier as well as the literal link, so a client that does not
// resolve links inside the bundle still knows who is meant (https://hl7.org/fhir/R4/references.html).

/** The child, by NHS number. */
export function patientReference(nhsNumber: string): Reference {
  return { reference: `Patient/${nhsNumber}`, type: 'Patient', identifier: { system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber } };
}

/** The responsible LA, by its included Organization and its organisation code. */
export function organisationReference(org: Organisation): Reference {
  const display = fhirText(org.name);
  return {
    reference: `Organization/${org.code}`,
    type: 'Organization',
    identifier: { system: IDENTIFIER_SYSTEM.odsCode, value: org.code },
    ...(display ? { display } : {}),
  };
}
