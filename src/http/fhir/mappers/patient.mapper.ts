import type { Address, HumanName, Patient } from 'fhir/r4.d.ts';
import type { VisiblePlan } from '../../../domain/lookup.ts';
import { IDENTIFIER_SYSTEM } from '../code-systems.ts';
import { fhirId, fhirInstant, fhirText } from './fhir-values.ts';

/**
 * The child as a Patient (https://hl7.org/fhir/R4/patient.html). LAs may hold different
 * demographics for one NHS number; the most recently updated plan is the freshest account.
 * With no plans only the NHS number is known.
 */
export function toPatient(nhsNumber: string, plans: readonly VisiblePlan[]): Patient {
  const identifier = [{ system: IDENTIFIER_SYSTEM.nhsNumber, value: nhsNumber }];
  const latest = mostRecentlyUpdated(plans);
  if (!latest) return { resourceType: 'Patient', id: fhirId(nhsNumber), identifier };
  const name = nameOf(latest);
  const address = addressOf(latest);
  return {
    resourceType: 'Patient',
    id: fhirId(nhsNumber),
    meta: { lastUpdated: fhirInstant(latest.updatedAt) },
    identifier,
    ...(name ? { name: [name] } : {}),
    birthDate: latest.birthDate,
    ...(address ? { address: [address] } : {}),
  };
}

function mostRecentlyUpdated(plans: readonly VisiblePlan[]): VisiblePlan | undefined {
  return plans.reduce<VisiblePlan | undefined>(
    (best, plan) => (!best || Date.parse(plan.updatedAt) > Date.parse(best.updatedAt) ? plan : best),
    undefined,
  );
}

function nameOf(plan: VisiblePlan): HumanName | undefined {
  const family = fhirText(plan.familyName);
  const given = fhirText(plan.givenNames)?.split(' ') ?? [];
  if (!family && given.length === 0) return undefined;
  return { use: 'official', ...(family ? { family } : {}), ...(given.length ? { given } : {}) };
}

function addressOf(plan: VisiblePlan): Address | undefined {
  const line = plan.addressLines.map(fhirText).filter((l): l is string => l !== undefined);
  const postalCode = fhirText(plan.postcode);
  if (line.length === 0 && !postalCode) return undefined;
  return { use: 'home', ...(line.length ? { line } : {}), ...(postalCode ? { postalCode } : {}) };
}
