import type { OperationOutcome } from 'fhir/r4.d.ts';
import type { IdentityField, Person } from '../../../domain/person.ts';
import { CPIS_SYSTEM } from '../code-systems.ts';
import { metaProfile } from '../profiles.ts';

/** Each identity field as a clinician reads it, and where it sits in the Patient. */
const FIELD = {
  familyName: { label: 'family name', expression: 'Patient.name.family' },
  givenNames: { label: 'given names', expression: 'Patient.name.given' },
  birthDate: { label: 'date of birth', expression: 'Patient.birthDate' },
  postcode: { label: 'postcode', expression: 'Patient.address.postalCode' },
} as const satisfies Record<IdentityField, { label: string; expression: string }>;

/**
 * The warning a clinical system shows beside the Patient when the plans held for one NHS number do
 * not agree on who the child is (a Bundle entry with search.mode `outcome`). It names the fields,
 * never a value; undefined when every plan agrees.
 */
export function toIdentityWarning(person: Person | undefined): OperationOutcome | undefined {
  if (!person || person.disagreements.length === 0) return undefined;
  const labels = person.disagreements.map((f) => FIELD[f].label).join(', ');
  return {
    resourceType: 'OperationOutcome',
    // UKCore-OperationOutcome asks for severity, code and expression, all given (see profiles.ts).
    meta: { profile: metaProfile('OperationOutcome') },
    issue: [
      {
        severity: 'warning',
        code: 'informational',
        details: {
          coding: [{ system: CPIS_SYSTEM.identityWarning, code: 'DEMOGRAPHICS_DIFFER', display: 'Held details for this NHS number disagree' }],
          text: `The plans held for this NHS number disagree on: ${labels}.`,
        },
        diagnostics:
          `The plans held for this NHS number disagree on: ${labels}. The Patient shows the details PDS confirmed most recently, ` +
          'else the most recently updated. Make sure the child in front of you is this child before acting on the flag, and tell the local authority.',
        expression: person.disagreements.map((f) => FIELD[f].expression),
      },
    ],
  };
}
