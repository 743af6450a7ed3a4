import type { Patient } from 'fhir/r4.d.ts';
import type { PdsPerson, PdsResult } from '../../src/domain/demographics.ts';

const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
// v3-Confidentiality as PDS uses it: U unrestricted, R restricted, V very restricted.
const RESTRICTED_CODES = new Set(['R', 'V']);

/** The name PDS treats as current: the `usual` one, else the first. */
function currentName(patient: Patient) {
  return patient.name?.find((n) => n.use === 'usual') ?? patient.name?.[0];
}

/** Reduces a PDS Patient to what the register checks. */
export function personOf(patient: Patient): PdsPerson {
  const name = currentName(patient);
  const nhsNumber = patient.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value ?? patient.id ?? '';
  return {
    nhsNumber,
    familyName: name?.family ?? null,
    givenNames: name?.given ?? [],
    birthDate: patient.birthDate ?? null,
    restricted: (patient.meta?.security ?? []).some((s) => s.code !== undefined && RESTRICTED_CODES.has(s.code)),
    deceased: patient.deceasedDateTime !== undefined || patient.deceasedBoolean === true,
  };
}

/**
 * PDS's 200 answer to `GET Patient/{nhs}`. When the number asked about was merged into another,
 * PDS returns the current record, whose NHS number differs: the number asked about is superseded.
 */
export function patientResultOf(requested: string, body: unknown): PdsResult {
  const patient = body as Patient;
  if (patient?.resourceType !== 'Patient') return { kind: 'unavailable', reason: 'unexpected-response' };
  const person = personOf(patient);
  if (!person.nhsNumber) return { kind: 'unavailable', reason: 'unexpected-response' };
  return person.nhsNumber === requested ? { kind: 'found', person } : { kind: 'superseded', person, replacementNhsNumber: person.nhsNumber };
}

/** The Spine error code of an OperationOutcome body, if it has one. */
export function spineCodeOf(body: unknown): string | undefined {
  const outcome = body as { issue?: { details?: { coding?: { code?: string }[] } }[] } | undefined;
  return outcome?.issue?.[0]?.details?.coding?.[0]?.code;
}

/** A definite 4xx answer about the number, or undefined when the status says nothing about it. */
export function errorResultOf(status: number, body: unknown): PdsResult | undefined {
  const code = spineCodeOf(body);
  if (code === 'INVALIDATED_RESOURCE') return { kind: 'invalidated' };
  // PDS answers 400 INVALID_RESOURCE_ID for a number it cannot hold: no match either.
  if (status === 404 || code === 'RESOURCE_NOT_FOUND' || code === 'INVALID_RESOURCE_ID') return { kind: 'not-found' };
  return undefined;
}
