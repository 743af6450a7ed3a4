import type { OperationOutcome, Resource } from 'fhir/r4.d.ts';
import { personOf } from '../../domain/person.ts';
import type { LookupResult } from '../../domain/lookup.ts';
import type { FhirCreateInteraction, FhirInteraction, FhirSearchInteraction } from './capability-statement.ts';
import { CPIS_SYSTEM, IDENTIFIER_SYSTEM, WAS_NOT_BROUGHT } from './code-systems.ts';
import { toAuditEvent } from './mappers/audit-event.mapper.ts';
import { toCareTeam } from './mappers/care-team.mapper.ts';
import { toFlag } from './mappers/flag.mapper.ts';
import { toOrganization } from './mappers/organization.mapper.ts';
import { toPatient } from './mappers/patient.mapper.ts';
import { toIdentityWarning } from './mappers/identity-warning.mapper.ts';
import { BASE_PROFILES } from './profiles.ts';

/** A row of the table: the capability it declares, and how a lookup result becomes its Bundle entries. */
export type FhirSearch = FhirSearchInteraction & {
  entries(result: LookupResult): { matches: Resource[]; includes: Resource[]; outcomes: OperationOutcome[] };
};

// One parameter, `patient` (a reference), searched by value or with the identifier modifier
// (https://hl7.org/fhir/R4/search.html#reference, modifier :identifier); a modifier is not a parameter name.
const BY_PATIENT = [
  {
    name: 'patient',
    type: 'reference',
    documentation:
      `The child (or, for UCPP, the mother). Give patient:identifier=${IDENTIFIER_SYSTEM.nhsNumber}|<NHS number> ` +
      '(the :identifier modifier), or patient=<NHS number> or patient=Patient/<NHS number>. Required; one patient per search.',
  },
  { name: '_count', type: 'number', documentation: 'At most this many matches per page (0 to 100; 0 gives the total only), with next and previous links.' },
  { name: '_summary', type: 'token', documentation: 'count: the total only. false: the default. Other values are ignored, or refused under Prefer: handling=strict.' },
] as const;

function orgOf(result: LookupResult, laCode: string) {
  const org = result.organisations.find((o) => o.code === laCode);
  if (!org) throw new Error('plan without its organisation');
  return org;
}

/** The Patient, the owning LAs (with both phones) and the recent history travel with every plan search. */
function context(result: LookupResult): Resource[] {
  if (result.plans.length === 0) return [];
  return [
    toPatient(result.nhsNumber, result.plans),
    ...result.organisations.map((o) => toOrganization(o, result.at)),
    ...result.accesses.map((a) => toAuditEvent(a, result.nhsNumber)),
  ];
}

/** A warning with every answer that shows the Patient, when the held plans disagree on who the child is. */
function warnings(result: LookupResult): OperationOutcome[] {
  const warning = toIdentityWarning(personOf(result.plans));
  return warning ? [warning] : [];
}

/** The FHIR facade: every search it serves. The router and the CapabilityStatement both read this. */
export const FHIR_SEARCHES: readonly FhirSearch[] = [
  {
    resourceType: 'CareTeam',
    interaction: 'search-type',
    searchParams: BY_PATIENT,
    documentation: 'One CareTeam per visible plan (CPP, LAC, UCPP) with the LA as managingOrganization. Unscheduled: records the access and notifies the LA.',
    includes: ['CareTeam:patient'],
    revIncludes: ['AuditEvent:patient'],
    entries: (r) => ({ matches: r.plans.map((p) => toCareTeam(p, orgOf(r, p.laCode))), includes: context(r), outcomes: warnings(r) }),
  },
  {
    resourceType: 'Flag',
    interaction: 'search-type',
    searchParams: BY_PATIENT,
    documentation: 'The same plans as Flags, for clients that follow the NHS Patient Flags shape.',
    includes: ['Flag:patient', 'Flag:author'],
    revIncludes: ['AuditEvent:patient'],
    entries: (r) => ({ matches: r.plans.map((p) => toFlag(p, orgOf(r, p.laCode))), includes: context(r), outcomes: warnings(r) }),
  },
  {
    resourceType: 'AuditEvent',
    interaction: 'search-type',
    searchParams: BY_PATIENT,
    documentation: 'The access history: the 25 most recent unscheduled accesses, newest first. Repeat views by one user within 24 hours show once.',
    includes: ['AuditEvent:patient'],
    revIncludes: [],
    entries: (r) => ({
      matches: r.accesses.map((a) => toAuditEvent(a, r.nhsNumber)),
      includes: r.plans.length ? [toPatient(r.nhsNumber, r.plans)] : [],
      outcomes: warnings(r),
    }),
  },
];

/** The FHIR facade: every create it serves. The router takes each one's handler by resource type. */
export const FHIR_CREATES: readonly FhirCreateInteraction[] = [
  {
    resourceType: 'Communication',
    interaction: 'create',
    profile: BASE_PROFILES.Communication,
    documentation:
      'A clinician (B0170 or B0107) tells the LAs that a child on a plan, or for an unborn-child plan the mother, was not brought to an appointment. ' +
      `POST [base]/Communication as application/fhir+json: status completed, category ${CPIS_SYSTEM.communicationCategory}#${WAS_NOT_BROUGHT.code}, ` +
      `subject by identifier ${IDENTIFIER_SYSTEM.nhsNumber}, about #<id> of a contained Appointment (status noshow, start, end, serviceType, participant) ` +
      'and sender #<id> of a contained PractitionerRole whose phone telecom is the call-back number (a UK number). Nothing else is accepted. ' +
      'Each LA with a visible plan gets a was-not-brought notification; no access is recorded. 201 with Location; the answer is the ' +
      'Communication with recipient listing the LAs told (status not-done, and statusReason, when none was), or with Prefer: return=OperationOutcome ' +
      'an OperationOutcome saying how many, or with return=minimal no body. The Communication cannot be read back.',
  },
];

/** Every interaction of the facade, in the order the CapabilityStatement lists them. */
export const FHIR_INTERACTIONS: readonly FhirInteraction[] = [...FHIR_SEARCHES, ...FHIR_CREATES];
