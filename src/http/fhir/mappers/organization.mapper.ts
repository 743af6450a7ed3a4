import type { CodeableConcept, ContactPoint, Organization, OrganizationContact } from 'fhir/r4.d.ts';
import { contactNow } from '../../../domain/contact-now.ts';
import type { Organisation } from '../../../domain/organisation.ts';
import type { Phone as UkPhone } from '../../../domain/uk-phone.ts';
import { CONTACT_PURPOSE, CPIS_EXTENSION, CPIS_SYSTEM, HL7_SYSTEM, IDENTIFIER_SYSTEM, LOCAL_AUTHORITY_TYPE, NHS_ENGLAND_SYSTEM } from '../code-systems.ts';
import { metaProfile } from '../profiles.ts';
import { fhirId, fhirText } from './fhir-values.ts';

// UKCore-OrganizationType is an extensible binding, so its fitting code (HL7 govt) must be there; the ODS role
// RO141 beside it is the national code for what kind of government an LA is (code-systems.ts gives the pages).
const LOCAL_AUTHORITY: CodeableConcept = {
  coding: [
    { system: HL7_SYSTEM.organizationType, ...LOCAL_AUTHORITY_TYPE.govt },
    { system: NHS_ENGLAND_SYSTEM.odsOrganisationRole, ...LOCAL_AUTHORITY_TYPE.odsRole },
  ],
  text: LOCAL_AUTHORITY_TYPE.text,
};

type Phone = { purpose: (typeof CONTACT_PURPOSE)[keyof typeof CONTACT_PURPOSE]; label: string; phone: UkPhone };

/**
 * The LA as an Organization (https://hl7.org/fhir/R4/organization.html) meeting UKCore-Organization: its code in
 * the odsOrganisationCode slice (system fixed to https://fhir.nhs.uk/Id/ods-organization-code) and a type saying it
 * is a local authority (see profiles.ts for the pages). Both phones are given: `telecom` ranks the one to call at
 * `at` first (rank 1), by the domain's one rule (contactNow), and `contact` says which is which, because a
 * ContactPoint alone cannot carry a label. The service holds no LA address, so there is none.
 */
export function toOrganization(org: Organisation, at: Date): Organization {
  const phones = phonesInCallOrder(org, at);
  const name = fhirText(org.name);
  return {
    resourceType: 'Organization',
    id: fhirId(org.code),
    meta: { profile: metaProfile('Organization') },
    identifier: [{ system: IDENTIFIER_SYSTEM.odsCode, value: org.code }],
    active: true,
    type: [LOCAL_AUTHORITY],
    ...(name ? { name } : {}),
    ...(phones.length ? { telecom: phones.map(toContactPoint), contact: phones.map(toContact) } : {}),
  };
}

function phonesInCallOrder(org: Organisation, at: Date): Phone[] {
  const office = phone(CONTACT_PURPOSE.officeHours, 'Children’s social care (office hours)', org.officeHoursPhone);
  const edt = phone(CONTACT_PURPOSE.outOfHours, 'Emergency Duty Team (out of hours)', org.edtPhone);
  const ordered = contactNow(org, at).callFirst === 'out-of-hours' ? [edt, office] : [office, edt];
  return ordered.filter((p): p is Phone => p !== undefined);
}

function phone(purpose: Phone['purpose'], label: string, value: UkPhone | null): Phone | undefined {
  return value && fhirText(value.national) ? { purpose, label, phone: value } : undefined;
}

// Phones arrive in call order, so rank follows position (https://hl7.org/fhir/R4/datatypes.html#ContactPoint).
// The value is the national form a clinician in England reads and dials; the extension carries E.164 for machines.
function toContactPoint(p: Phone, index: number): ContactPoint {
  return {
    extension: [{ url: CPIS_EXTENSION.e164Phone, valueString: p.phone.e164 }],
    system: 'phone', value: p.phone.national, use: 'work', rank: index + 1,
  };
}

function toContact(p: Phone, index: number): OrganizationContact {
  return {
    purpose: { coding: [{ system: CPIS_SYSTEM.contactPurpose, code: p.purpose.code, display: p.purpose.display }], text: p.label },
    telecom: [toContactPoint(p, index)],
  };
}
