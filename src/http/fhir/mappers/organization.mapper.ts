import type { ContactPoint, Organization, OrganizationContact } from 'fhir/r4.d.ts';
import { isOutOfHours, type Organisation } from '../../../domain/organisation.ts';
import { CONTACT_PURPOSE, CPIS_SYSTEM, IDENTIFIER_SYSTEM } from '../code-systems.ts';
import { fhirId, fhirText } from './fhir-values.ts';

type Phone = { purpose: (typeof CONTACT_PURPOSE)[keyof typeof CONTACT_PURPOSE]; label: string; number: string };

/**
 * The LA as an Organization (https://hl7.org/fhir/R4/organization.html). Both phones are given:
 * `telecom` ranks the one to call at `at` first (rank 1), and `contact` says which is which,
 * because a ContactPoint alone cannot carry a label.
 */
export function toOrganization(org: Organisation, at: Date): Organization {
  const phones = phonesInCallOrder(org, at);
  const name = fhirText(org.name);
  return {
    resourceType: 'Organization',
    id: fhirId(org.code),
    identifier: [{ system: IDENTIFIER_SYSTEM.odsCode, value: org.code }],
    active: true,
    ...(name ? { name } : {}),
    ...(phones.length ? { telecom: phones.map(toContactPoint), contact: phones.map(toContact) } : {}),
  };
}

function phonesInCallOrder(org: Organisation, at: Date): Phone[] {
  const office = phone(CONTACT_PURPOSE.officeHours, 'Children’s social care (office hours)', org.officeHoursPhone);
  const edt = phone(CONTACT_PURPOSE.outOfHours, 'Emergency Duty Team (out of hours)', org.edtPhone);
  const ordered = isOutOfHours(org.officeHours, at) ? [edt, office] : [office, edt];
  return ordered.filter((p): p is Phone => p !== undefined);
}

function phone(purpose: Phone['purpose'], label: string, value: string | null): Phone | undefined {
  const number = fhirText(value);
  return number ? { purpose, label, number } : undefined;
}

// Phones arrive in call order, so rank follows position (https://hl7.org/fhir/R4/datatypes.html#ContactPoint).
function toContactPoint(phone: Phone, index: number): ContactPoint {
  return { system: 'phone', value: phone.number, use: 'work', rank: index + 1 };
}

function toContact(phone: Phone, index: number): OrganizationContact {
  return {
    purpose: { coding: [{ system: CPIS_SYSTEM.contactPurpose, code: phone.purpose.code, display: phone.purpose.display }], text: phone.label },
    telecom: [toContactPoint(phone, index)],
  };
}
