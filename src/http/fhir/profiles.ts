// The profiles each resource the FHIR facade emits claims in meta.profile, and that the
// CapabilityStatement can list as supportedProfile. A resource claims a profile only when the mapper
// that builds it meets that profile's constraints (README, FHIR API: Profiles).

/** Resource types the facade emits. */
export type ProfiledResource = 'CareTeam' | 'Flag' | 'Patient' | 'Organization' | 'AuditEvent' | 'OperationOutcome';

// UK Core R4 (HL7 UK, https://simplifier.net/hl7fhirukcorer4). Canonicals and constraints read from the
// profiles' definitions (https://github.com/NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN, structuredefinitions/UKCore-*.xml):
// - UKCore-Patient 2.6.1 (active): identifier:nhsNumber system fixed to https://fhir.nhs.uk/Id/nhs-number, its
//   verification status extension bound (required) to ValueSet UKCore-NHSNumberVerificationStatus
//   (https://simplifier.net/guide/UK-Core-Implementation-Guide/Home/ProfilesandExtensions/ProfileUKCore-Patient/identifier.page.md?version=current,
//   https://build.fhir.org/ig/HL7-UK/UK-Core-Access/StructureDefinition-UKCore-Patient.html).
// - UKCore-Organization 2.5.1 (active): identifier:odsOrganisationCode system fixed to
//   https://fhir.nhs.uk/Id/ods-organization-code; type bound (extensible) to ValueSet UKCore-OrganizationType
//   (https://simplifier.net/guide/uk-core-implementation-guide/Home/ProfilesandExtensions/ProfileUKCore-Organization?version=1.0.0).
// - UKCore-CareTeam 2.1.0, UKCore-Flag 1.2.0, UKCore-AuditEvent 1.2.0, UKCore-OperationOutcome 1.3.0 (all draft):
//   Must Support flags only, no cardinality, fixed value or binding beyond R4's.
const UK_CORE = 'https://fhir.hl7.org.uk/StructureDefinition';

/** The UK Core profile of each resource type: one per type, for CapabilityStatement.rest.resource.profile/supportedProfile. */
export const PROFILES = {
  Patient: `${UK_CORE}/UKCore-Patient`,
  Organization: `${UK_CORE}/UKCore-Organization`,
  CareTeam: `${UK_CORE}/UKCore-CareTeam`,
  Flag: `${UK_CORE}/UKCore-Flag`,
  AuditEvent: `${UK_CORE}/UKCore-AuditEvent`,
  OperationOutcome: `${UK_CORE}/UKCore-OperationOutcome`,
} as const satisfies Record<ProfiledResource, string>;

// NHS England Patient Flags, "Patient Flags - NHS England - Implementation Guide STU1" 0.4.0 (draft, 2024-02-14):
// https://nhsdigital.github.io/ra-sandbox/StructureDefinition-PatientFlag.html and its definitions page
// https://nhsdigital.github.io/ra-sandbox/StructureDefinition-PatientFlag-definitions.html (source:
// https://github.com/NHSDigital/ra-sandbox, input/fsh/profiles/PatientFlag.fsh and FlagProvenance.fsh). The Flag's
// code is bound (required) to ValueSet PatientFlagCategory, which holds CP-IS; it contains exactly one Provenance
// conforming to FlagProvenance (agent.who only a Practitioner, agent.onBehalfOf only an Organization).
// A later Simplifier draft (https://simplifier.net/guide/PatientFlag/Home/FHIR-Assets/Profiles/England-Flag-Patient-Flag.page.md?version=current,
// England-Flag-PatientFlag 0.3.0) renames the profile and its code system and is not claimed: its CP-IS code
// differs between its own examples.
const NHS_ENGLAND = 'https://fhir.nhs.uk/England/StructureDefinition';

/** NHS England's Patient Flags profiles the Flag (and its contained Provenance) meet. */
export const PATIENT_FLAG_PROFILES = {
  flag: `${NHS_ENGLAND}/PatientFlag`,
  provenance: `${NHS_ENGLAND}/FlagProvenance`,
} as const;

/** Every profile a resource type claims, the UK Core one first: what meta.profile carries. */
export const SUPPORTED_PROFILES = {
  Patient: [PROFILES.Patient],
  Organization: [PROFILES.Organization],
  CareTeam: [PROFILES.CareTeam],
  Flag: [PROFILES.Flag, PATIENT_FLAG_PROFILES.flag],
  AuditEvent: [PROFILES.AuditEvent],
  OperationOutcome: [PROFILES.OperationOutcome],
} as const satisfies Record<ProfiledResource, readonly string[]>;

/** A fresh meta.profile array for a resource of this type. */
export function metaProfile(resourceType: ProfiledResource): string[] {
  return [...SUPPORTED_PROFILES[resourceType]];
}

/**
 * Resource types the facade takes without claiming a profile of them: the base R4 definition. UK Core's
 * UKCore-Communication is a draft; what the service accepts is base R4, and its shape in full is
 * schemas/was-not-brought-communication.schema.json.
 */
export const BASE_PROFILES = {
  Communication: 'http://hl7.org/fhir/StructureDefinition/Communication',
} as const;
