import type { LacLegalStatus, PlanType } from '../../domain/plan.ts';

// Every system, identifier and extension URI the FHIR facade emits lives here, so that a client
// sees one URI per concept everywhere (README, API: each concept has one code-system URI, used everywhere).

/** National identifier systems (https://digital.nhs.uk/developer/guides-and-documentation/building-healthcare-software/fhir). */
export const IDENTIFIER_SYSTEM = {
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  odsCode: 'https://fhir.nhs.uk/Id/ods-organization-code',
  sdsUserId: 'https://fhir.nhs.uk/Id/sds-user-id',
  sdsRoleProfileId: 'https://fhir.nhs.uk/Id/sds-role-profile-id',
  /** A user known only by their token's subject, unique within the service's identity provider. */
  tokenSubject: 'https://fhir.cpis.example/Id/token-subject',
} as const;

/** National code systems (UK Core, https://simplifier.net/hl7fhirukcorer4). */
export const UK_CORE_SYSTEM = {
  /** National RBAC job roles: R8000 Clinical Practitioner Access Role and the like. */
  sdsJobRoleName: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName',
  /**
   * The England trace statuses (01 to 08), which UK Core's ValueSet UKCore-NHSNumberVerificationStatus includes and
   * the extension is bound to (required). PDS still sends the retired UKCore-NHSNumberVerificationStatus system with
   * these codes (adapters/pds/sandbox/Patient.json), but that system's own codes are words, not 01..08, so a UK Core
   * validator rejects the pair (https://fhir.org/guides/stats2/codesystem-fhir.r4.ukcore.stu1-ukcore-nhsnumberverificationstatusengland.html,
   * https://simplifier.net/guide/uk-core-implementation-guide/Home/Terminology/AllCodeSystems/CodeSystemUKCore-NHSNumberVerificationStatus?version=0.2.0,
   * https://simplifier.net/guide/uk-core-implementation-guide-stu3-sequence/Home/Examples/Extension-Examples/Example-UKCore-Extension-NHSNumberVerificationStatus?version=1.8.0).
   */
  nhsNumberVerificationStatus: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland',
} as const;

/** NHS England code systems. */
export const NHS_ENGLAND_SYSTEM = {
  /**
   * ODS organisation roles (the ODS FHIR R4 Organisation Data Terminology API's ODSOrganisationRole,
   * https://nhsd-proxy.dokku3.ebmdatalab.net/services/organisation-data-service/codesystem/odsorganisationrole-info).
   */
  odsOrganisationRole: 'https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole',
  /** Which national flag a Patient Flags Flag is (https://github.com/NHSDigital/ra-sandbox, input/fsh/codesystem/PatientFlagCategory.fsh). */
  patientFlagCategory: 'https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory',
} as const;

/**
 * How an LA says what it is, in Organization.type. UK Core binds type (extensible) to UKCore-OrganizationType, whose
 * one fitting code is HL7's govt; ODS's primary role for every local authority, RO141 LOCAL AUTHORITY
 * (https://odsdatasearchandexport.dc4h.link/referenceDataCatalogue/Local-Authorities-and-Local-Authority-Sites_571326084.html),
 * says which kind of government.
 */
export const LOCAL_AUTHORITY_TYPE = {
  govt: { code: 'govt', display: 'Government' },
  odsRole: { code: 'RO141', display: 'LOCAL AUTHORITY' },
  text: 'Local authority',
} as const;

/** The CP-IS flag in NHS England's PatientFlagCategory (required on a Patient Flags Flag's code). */
export const CPIS_PATIENT_FLAG = { code: 'CP-IS', display: 'Child Protection - Information Sharing Flag' } as const;

/** UK Core extensions. */
export const UK_CORE_EXTENSION = {
  nhsNumberVerificationStatus: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
} as const;

/** NHS number verification statuses the service can say: PDS confirmed the details it holds, or nobody checked. */
export const NHS_NUMBER_VERIFICATION = {
  verified: { code: '01', display: 'Number present and verified' },
  notTraced: { code: '02', display: 'Number present but not traced' },
} as const;

const CPIS_BASE = 'https://fhir.cpis.example';

/** The service's own code systems. */
export const CPIS_SYSTEM = {
  planType: `${CPIS_BASE}/CodeSystem/plan-type`,
  lacLegalStatus: `${CPIS_BASE}/CodeSystem/lac-legal-status`,
  contactPurpose: `${CPIS_BASE}/CodeSystem/contact-purpose`,
  careSetting: `${CPIS_BASE}/CodeSystem/care-setting`,
  userRole: `${CPIS_BASE}/CodeSystem/user-role`,
  /** Warnings about a child's identity that travel with a search answer. */
  identityWarning: `${CPIS_BASE}/CodeSystem/identity-warning`,
  /** What a Communication a care setting sends is about (Communication.category). */
  communicationCategory: `${CPIS_BASE}/CodeSystem/communication-category`,
} as const;

/** The one Communication category the service takes: a child (or, for UCPP, the mother) not brought to an appointment. */
export const WAS_NOT_BROUGHT = { code: 'was-not-brought', display: 'Was not brought to an appointment' } as const;

/** The service's own extensions. */
export const CPIS_EXTENSION = {
  lacLegalStatus: `${CPIS_BASE}/StructureDefinition/lac-legal-status`,
  /** The SDS role profile (a person's role at an organisation) they looked the child up under. */
  sdsRoleProfile: `${CPIS_BASE}/StructureDefinition/sds-role-profile`,
  /** On a ContactPoint whose value is a UK phone in national form: the same number in E.164 (valueString, e.g. +441134960999). */
  e164Phone: `${CPIS_BASE}/StructureDefinition/phone-e164`,
} as const;

/** HL7 terminology the facade borrows (https://terminology.hl7.org/). */
export const HL7_SYSTEM = {
  flagCategory: 'http://terminology.hl7.org/CodeSystem/flag-category',
  auditEventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restfulInteraction: 'http://hl7.org/fhir/restful-interaction',
  auditSourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  auditEntityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  roleClass: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
} as const;

/** HL7 core extensions the facade uses (https://hl7.org/fhir/R4/extension-data-absent-reason.html). */
export const HL7_EXTENSION = {
  dataAbsentReason: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason',
} as const;

export const PLAN_TYPE_DISPLAY = {
  CPP: 'Child protection plan',
  LAC: 'Looked after child',
  UCPP: 'Unborn child protection plan',
} as const satisfies Record<PlanType, string>;

export const LAC_LEGAL_STATUS_DISPLAY = {
  S31: 'Care order (Children Act 1989 s31)',
  S38: 'Interim care order (s38)',
  S20: 'Accommodated by agreement (s20)',
} as const satisfies Record<LacLegalStatus, string>;

/** Which of an LA's two phones a contact is. */
export const CONTACT_PURPOSE = {
  officeHours: { code: 'office-hours', display: 'Office hours' },
  outOfHours: { code: 'out-of-hours', display: 'Out of hours: Emergency Duty Team' },
} as const;
