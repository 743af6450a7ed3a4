import { describe, expect, it } from 'vitest';
import type { CareTeam, Flag, Organization, Patient, Provenance, Resource } from 'fhir/r4.d.ts';
import type { AccessRecord, VisiblePlan } from '../../src/domain/lookup.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import { CONTACT_PURPOSE, CPIS_EXTENSION, CPIS_SYSTEM, IDENTIFIER_SYSTEM } from '../../src/http/fhir/code-systems.ts';
import { toCapabilityStatement, type FhirInteraction } from '../../src/http/fhir/capability-statement.ts';
import { toAuditEvent } from '../../src/http/fhir/mappers/audit-event.mapper.ts';
import { toSearchsetBundle } from '../../src/http/fhir/mappers/bundle.ts';
import { toCareTeam } from '../../src/http/fhir/mappers/care-team.mapper.ts';
import { toFlag } from '../../src/http/fhir/mappers/flag.mapper.ts';
import { toOrganization } from '../../src/http/fhir/mappers/organization.mapper.ts';
import { toPatient } from '../../src/http/fhir/mappers/patient.mapper.ts';
import { toIdentityWarning } from '../../src/http/fhir/mappers/identity-warning.mapper.ts';
import { personOf } from '../../src/domain/person.ts';
import { PROFILES, SUPPORTED_PROFILES } from '../../src/http/fhir/profiles.ts';
import { validateFhir } from '../support/fhir-schema.ts';

const NHS = '9990000018';
const BASE = 'https://cpis.example.org/cpis/FHIR/R4';
// Wednesday 14 January 2026 (GMT): 14:00 is in office hours, 02:00 is not.
const IN_HOURS = new Date('2026-01-14T14:00:00Z');
const OUT_OF_HOURS = new Date('2026-01-14T02:00:00Z');

const exampleshire: Organisation = {
  code: 'TEX001',
  name: 'Exampleshire',
  officeHoursPhone: { national: '0113 496 0100', e164: '+441134960100' },
  edtPhone: { national: '0113 496 0199', e164: '+441134960199' },
  officeHours: DEFAULT_OFFICE_HOURS,
};

function plan(overrides: Partial<VisiblePlan> = {}): VisiblePlan {
  return {
    id: '101', laCode: exampleshire.code, nhsNumber: NHS, familyName: 'Testchild', givenNames: 'Alex Sam',
    birthDate: '2018-03-02', postcode: 'LS1 4AP', addressLines: ['1 Example Street', 'Leeds'], planType: 'CPP',
    lacLegalStatus: null, startDate: '2025-05-01', endDate: null, deleteDate: null, localId: 'EX-42',
    status: 'active', effectiveEndDate: null, updatedAt: '2026-01-10T09:30:00.000Z', pdsVerifiedAt: null, ...overrides,
  };
}

// The external canonicals and systems, written out here so that a slip in the source is caught.
const UK_CORE = (name: string) => `https://fhir.hl7.org.uk/StructureDefinition/UKCore-${name}`;
const PATIENT_FLAG = 'https://fhir.nhs.uk/England/StructureDefinition/PatientFlag';
const FLAG_PROVENANCE = 'https://fhir.nhs.uk/England/StructureDefinition/FlagProvenance';
const VERIFICATION_EXTENSION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
const VERIFICATION_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland';
const CPIS_FLAG_CODING = { system: 'https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory', code: 'CP-IS', display: 'Child Protection - Information Sharing Flag' };

const lacPlan = plan({ id: '102', planType: 'LAC', lacLegalStatus: 'S31', status: 'inactive', endDate: '2025-12-01', effectiveEndDate: '2025-12-01' });

const access: AccessRecord = {
  id: '7001', accessedAt: '2026-01-14T02:05:09.123Z', userId: 'dr-a', userName: 'Dr Ada Example', userRole: 'clinician',
  organisationCode: 'RXX01', organisationName: 'Example Hospital ED', setting: 'emergency-department',
  sdsUserId: null, sdsRoleProfileId: null, jobRole: null,
};

const sampleTable: readonly FhirInteraction[] = [
  { resourceType: 'CareTeam', interaction: 'search-type', documentation: 'Plans as care teams', includes: ['CareTeam:patient'], revIncludes: ['AuditEvent:patient'],
    searchParams: [{ name: 'patient', type: 'reference', documentation: 'Patient/<nhs>' }, { name: '_count', type: 'number', documentation: 'page size' }] },
  { resourceType: 'Flag', interaction: 'search-type', documentation: 'Plans as flags', includes: [], revIncludes: [], searchParams: [{ name: 'patient', type: 'reference', documentation: 'Patient/<nhs>' }] },
  { resourceType: 'AuditEvent', interaction: 'search-type', documentation: 'Access history', includes: [], revIncludes: [], searchParams: [] },
  { resourceType: 'Communication', interaction: 'create', profile: 'http://hl7.org/fhir/StructureDefinition/Communication', documentation: 'A child not brought' },
];

describe('toCareTeam', () => {
  it('maps status, plan type, period, subject and the responsible LA', () => {
    const careTeam = toCareTeam(plan(), exampleshire);
    expect(careTeam).toMatchObject({
      resourceType: 'CareTeam', id: '101', status: 'active', name: 'Child protection plan (Exampleshire)',
      period: { start: '2025-05-01' }, meta: { lastUpdated: '2026-01-10T09:30:00.000Z', profile: [UK_CORE('CareTeam')] },
      subject: { reference: `Patient/${NHS}`, identifier: { system: IDENTIFIER_SYSTEM.nhsNumber, value: NHS } },
      managingOrganization: [{ reference: 'Organization/TEX001', display: 'Exampleshire' }],
    });
    expect(careTeam.category?.[0]?.coding).toEqual([{ system: CPIS_SYSTEM.planType, code: 'CPP', display: 'Child protection plan' }]);
    expect(careTeam.period?.end).toBeUndefined();
    expect(careTeam.extension).toBeUndefined();
    expect(validateFhir(careTeam)).toEqual([]);
  });

  it('gives an ended LAC plan its end date and its legal status', () => {
    const careTeam = toCareTeam(lacPlan, exampleshire);
    expect(careTeam.status).toBe('inactive');
    expect(careTeam.period).toEqual({ start: '2025-05-01', end: '2025-12-01' });
    expect(careTeam.extension).toEqual([{
      url: CPIS_EXTENSION.lacLegalStatus,
      valueCodeableConcept: { coding: [{ system: CPIS_SYSTEM.lacLegalStatus, code: 'S31', display: 'Care order (Children Act 1989 s31)' }], text: 'Care order (Children Act 1989 s31)' },
    }]);
    expect(validateFhir(careTeam)).toEqual([]);
  });
});

describe('toFlag', () => {
  it('maps the plan type to code, the LA to author, and keeps the legal status', () => {
    const flag = toFlag(lacPlan, exampleshire);
    expect(flag).toMatchObject({
      resourceType: 'Flag', id: '102', status: 'inactive', period: { start: '2025-05-01', end: '2025-12-01' },
      subject: { reference: `Patient/${NHS}` }, author: { reference: 'Organization/TEX001', display: 'Exampleshire' },
    });
    expect(flag.code.coding?.[0]).toEqual({ system: CPIS_SYSTEM.planType, code: 'LAC', display: 'Looked after child' });
    expect(flag.code.text).toBe('Looked after child');
    expect(flag.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('S31');
    expect(validateFhir(flag)).toEqual([]);
    expect(validateFhir(toFlag(plan({ planType: 'UCPP' }), exampleshire))).toEqual([]);
  });

  it('meets UK Core and NHS England Patient Flags: the CP-IS category as code, and one contained Provenance', () => {
    for (const p of [plan(), lacPlan, plan({ id: '103', planType: 'UCPP' })]) {
      const flag = toFlag(p, exampleshire);
      expect(flag.meta).toEqual({ lastUpdated: p.updatedAt, profile: [UK_CORE('Flag'), PATIENT_FLAG] });
      // PatientFlag binds code (required) to PatientFlagCategory: CP-IS is there, beside the plan type.
      expect(flag.code.coding).toEqual([expect.objectContaining({ system: CPIS_SYSTEM.planType, code: p.planType }), CPIS_FLAG_CODING]);
      expect(flag.category?.[0]?.coding?.[0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'safety', display: 'Safety' });
      expect(flag.contained).toHaveLength(1);
      expect(flag.contained?.[0]).toEqual<Provenance>({
        resourceType: 'Provenance', id: 'provenance', meta: { profile: [FLAG_PROVENANCE] },
        target: [{ reference: '#' }],
        recorded: p.updatedAt,
        agent: [{
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' }] },
          // FlagProvenance allows only a Practitioner here, and no person is known: said so, not invented.
          who: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] },
          onBehalfOf: { reference: 'Organization/TEX001', type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'TEX001' }, display: 'Exampleshire' },
        }],
      });
      expect(validateFhir(flag)).toEqual([]);
    }
  });

  it('keeps the rules for contained resources that the JSON Schema cannot check (R4 dom-2 to dom-5)', () => {
    const flag = toFlag(lacPlan, exampleshire);
    for (const contained of flag.contained ?? []) {
      expect(contained.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
      expect(contained.meta?.lastUpdated).toBeUndefined();
      expect(contained.meta?.versionId).toBeUndefined();
      expect(contained.meta?.security).toBeUndefined();
      expect((contained as { contained?: unknown }).contained).toBeUndefined();
      // dom-3: it refers to the Flag that holds it.
      expect((contained as Provenance).target).toContainEqual({ reference: '#' });
    }
  });
});

describe('toPatient', () => {
  it('takes the demographics of the most recently updated plan', () => {
    const older = plan({ id: '1', familyName: 'Oldname', updatedAt: '2025-01-01T00:00:00.000Z' });
    const newer = plan({ id: '2', familyName: 'Newname', givenNames: ' Ada  Mae ', updatedAt: '2026-01-12T08:00:00.000Z' });
    const patient = toPatient(NHS, [older, newer]);
    expect(patient).toEqual<Patient>({
      resourceType: 'Patient', id: NHS, meta: { lastUpdated: '2026-01-12T08:00:00.000Z', profile: [UK_CORE('Patient')] },
      identifier: [{
        extension: [{
          url: VERIFICATION_EXTENSION,
          valueCodeableConcept: { coding: [{ system: VERIFICATION_SYSTEM, code: '02', display: 'Number present but not traced' }] },
        }],
        system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS,
      }],
      name: [{ use: 'official', family: 'Newname', given: ['Ada', 'Mae'] }], birthDate: '2018-03-02',
      address: [{ use: 'home', type: 'physical', line: ['1 Example Street', 'Leeds'], postalCode: 'LS1 4AP' }],
    });
    expect(validateFhir(patient)).toEqual([]);
  });

  it('prefers details PDS confirmed over newer unchecked ones, and says they were verified', () => {
    const verified = plan({ id: '1', familyName: 'Confirmed', updatedAt: '2025-01-01T00:00:00.000Z', pdsVerifiedAt: '2025-01-01T00:00:00.000Z' });
    const newer = plan({ id: '2', familyName: 'Unchecked', updatedAt: '2026-01-12T08:00:00.000Z' });
    const patient = toPatient(NHS, [newer, verified]);
    expect(patient.name?.[0]?.family).toBe('Confirmed');
    expect(patient.identifier?.[0]?.extension).toEqual([{
      url: VERIFICATION_EXTENSION,
      valueCodeableConcept: { coding: [{ system: VERIFICATION_SYSTEM, code: '01', display: 'Number present and verified' }] },
    }]);
    expect(validateFhir(patient)).toEqual([]);
  });

  it('gives the address as UK Core parts: the lines as lines and the postcode as postalCode, never a guessed town', () => {
    const patient = toPatient(NHS, [plan({ addressLines: ['Flat 2', '1 Example Street', 'Leeds'], postcode: 'LS1 4AP' })]);
    expect(patient.address).toEqual([{ use: 'home', type: 'physical', line: ['Flat 2', '1 Example Street', 'Leeds'], postalCode: 'LS1 4AP' }]);
    expect(patient.address?.[0]?.city).toBeUndefined();
    expect(toPatient(NHS, [plan({ addressLines: [] })]).address).toEqual([{ use: 'home', type: 'physical', postalCode: 'LS1 4AP' }]);
    expect(validateFhir(patient)).toEqual([]);
  });

  it('turns no-break spaces into plain ones and leaves out what is blank', () => {
    const patient = toPatient(NHS, [plan({ familyName: 'Test\u00a0Child', postcode: null, addressLines: ['  ', '\u00a0'] })]);
    expect(patient.name?.[0]?.family).toBe('Test Child');
    expect(patient.address).toBeUndefined();
    expect(validateFhir(patient)).toEqual([]);
  });

  it('knows only the NHS number when there is no plan', () => {
    const patient = toPatient(NHS, []);
    expect(patient).toEqual({ resourceType: 'Patient', id: NHS, meta: { profile: [UK_CORE('Patient')] }, identifier: [{ system: IDENTIFIER_SYSTEM.nhsNumber, value: NHS }] });
    expect(validateFhir(patient)).toEqual([]);
  });
});

describe('toOrganization', () => {
  const purposeOf = (org: Organization, rank: number) =>
    org.contact?.find((c) => c.telecom?.[0]?.rank === rank)?.purpose?.coding?.[0];
  const phone = (national: string, e164: string, rank: number) =>
    ({ extension: [{ url: CPIS_EXTENSION.e164Phone, valueString: e164 }], system: 'phone', value: national, use: 'work', rank });

  it('ranks the office-hours phone first in office hours, and tells both phones apart', () => {
    const org = toOrganization(exampleshire, IN_HOURS);
    expect(org).toMatchObject({ resourceType: 'Organization', id: 'TEX001', name: 'Exampleshire', identifier: [{ system: IDENTIFIER_SYSTEM.odsCode, value: 'TEX001' }] });
    expect(org.meta).toEqual({ profile: [UK_CORE('Organization')] });
    expect(org.telecom).toEqual([phone('0113 496 0100', '+441134960100', 1), phone('0113 496 0199', '+441134960199', 2)]);
    expect(purposeOf(org, 1)).toEqual({ system: CPIS_SYSTEM.contactPurpose, code: CONTACT_PURPOSE.officeHours.code, display: CONTACT_PURPOSE.officeHours.display });
    expect(purposeOf(org, 2)?.code).toBe('out-of-hours');
    expect(org.contact?.map((c) => c.purpose?.text)).toEqual(['Children’s social care (office hours)', 'Emergency Duty Team (out of hours)']);
    expect(validateFhir(org)).toEqual([]);
  });

  it('meets UK Core: the code in the ODS slice, and a type that says local authority (HL7 govt, ODS role RO141)', () => {
    const org = toOrganization(exampleshire, IN_HOURS);
    expect(org.identifier).toEqual([{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'TEX001' }]);
    expect(org.active).toBe(true);
    expect(org.type).toEqual([{
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'govt', display: 'Government' },
        { system: 'https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole', code: 'RO141', display: 'LOCAL AUTHORITY' },
      ],
      text: 'Local authority',
    }]);
    expect(validateFhir(org)).toEqual([]);
  });

  it('ranks the EDT phone first out of hours, including summer-time evenings and bank holidays', () => {
    for (const at of [OUT_OF_HOURS, new Date('2026-07-15T16:30:00Z'), new Date('2026-01-17T12:00:00Z'), new Date('2026-12-25T10:00:00Z'), new Date('2027-12-28T10:00:00Z')]) {
      const org = toOrganization(exampleshire, at);
      expect(org.telecom?.[0]).toEqual(phone('0113 496 0199', '+441134960199', 1));
      expect(purposeOf(org, 1)?.code).toBe('out-of-hours');
      expect(validateFhir(org)).toEqual([]);
    }
  });

  it('ranks the office first at any hour when it is staffed 24/7', () => {
    const org = toOrganization({ ...exampleshire, officeHours: { timeZone: 'Europe/London', staffed: '24/7' } }, new Date('2026-12-25T02:00:00Z'));
    expect(purposeOf(org, 1)?.code).toBe('office-hours');
  });

  it('omits a missing phone, and ranks the remaining one first', () => {
    const org = toOrganization({ ...exampleshire, edtPhone: null }, OUT_OF_HOURS);
    expect(org.telecom).toEqual([phone('0113 496 0100', '+441134960100', 1)]);
    expect(org.contact?.map((c) => c.purpose?.coding?.[0]?.code)).toEqual(['office-hours']);
    const none = toOrganization({ ...exampleshire, edtPhone: null, officeHoursPhone: null }, IN_HOURS);
    expect(none.telecom).toBeUndefined();
    expect(none.contact).toBeUndefined();
    expect(validateFhir(none)).toEqual([]);
  });
});

describe('toAuditEvent', () => {
  it('records when, who (name, id, role), from which organisation and setting, about which child', () => {
    const event = toAuditEvent(access, NHS);
    expect(event).toMatchObject({ resourceType: 'AuditEvent', id: '7001', recorded: '2026-01-14T02:05:09.123Z', source: { observer: { display: expect.any(String) } } });
    expect(event.meta).toEqual({ profile: [UK_CORE('AuditEvent')] });
    const [user, organisation] = event.agent;
    expect(user).toMatchObject({ requestor: true, name: 'Dr Ada Example', who: { identifier: { system: IDENTIFIER_SYSTEM.tokenSubject, value: 'dr-a' }, display: 'Dr Ada Example' } });
    expect(user?.role?.[0]?.coding?.[0]).toEqual({ system: CPIS_SYSTEM.userRole, code: 'clinician' });
    expect(organisation).toMatchObject({ requestor: false, who: { identifier: { system: IDENTIFIER_SYSTEM.odsCode, value: 'RXX01' }, display: 'Example Hospital ED' } });
    expect(organisation?.role?.[0]?.coding?.[0]).toEqual({ system: CPIS_SYSTEM.careSetting, code: 'emergency-department' });
    expect(event.entity?.[0]?.what).toMatchObject({ reference: `Patient/${NHS}`, identifier: { value: NHS } });
    expect(validateFhir(event)).toEqual([]);
  });

  it('names the person by SDS user id, job role and role profile when the token carried them', () => {
    const event = toAuditEvent({ ...access, sdsUserId: '555021935107', sdsRoleProfileId: '555021936108', jobRole: { code: 'R8000', name: 'Clinical Practitioner Access Role' } }, NHS);
    const [user] = event.agent;
    expect(user?.who?.identifier).toEqual({ system: IDENTIFIER_SYSTEM.sdsUserId, value: '555021935107' });
    expect(user?.role?.[0]).toEqual({
      coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName', code: 'R8000', display: 'Clinical Practitioner Access Role' }],
      text: 'Clinical Practitioner Access Role',
    });
    expect(user?.role?.[1]?.coding?.[0]).toEqual({ system: CPIS_SYSTEM.userRole, code: 'clinician' });
    expect(user?.extension?.[0]?.valueIdentifier).toEqual({ system: IDENTIFIER_SYSTEM.sdsRoleProfileId, value: '555021936108' });
    expect(validateFhir(event)).toEqual([]);
  });

  it('stays valid when the setting is unknown', () => {
    const event = toAuditEvent({ ...access, setting: null }, NHS);
    expect(event.agent[1]?.role).toBeUndefined();
    expect(validateFhir(event)).toEqual([]);
  });
});

describe('toSearchsetBundle', () => {
  const careTeams = [toCareTeam(plan(), exampleshire), toCareTeam(lacPlan, exampleshire)];
  const patient = toPatient(NHS, [plan(), lacPlan]);
  const organization = toOrganization(exampleshire, IN_HOURS);

  it('counts only the matches, gives each entry once a urn:uuid fullUrl, and points references between entries at them', () => {
    const bundle = toSearchsetBundle({ matches: careTeams, includes: [patient, organization, organization], at: IN_HOURS });
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2, timestamp: '2026-01-14T14:00:00.000Z' });
    const entries = bundle.entry ?? [];
    expect(entries.map((e) => [e.resource?.resourceType, e.resource?.id, e.search?.mode])).toEqual([
      ['CareTeam', '101', 'match'], ['CareTeam', '102', 'match'], ['Patient', NHS, 'include'], ['Organization', 'TEX001', 'include'],
    ]);
    for (const e of entries) expect(e.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(entries.map((e) => e.fullUrl)).size).toBe(4);
    const fullUrlOf = (type: string) => entries.find((e) => e.resource?.resourceType === type)?.fullUrl;
    const team = entries[0]?.resource as CareTeam;
    expect(team.subject).toMatchObject({ reference: fullUrlOf('Patient'), identifier: { system: IDENTIFIER_SYSTEM.nhsNumber, value: NHS } });
    expect(team.managingOrganization?.[0]?.reference).toBe(fullUrlOf('Organization'));
    // The mapped resources given are not changed.
    expect(careTeams[0]?.subject?.reference).toBe(`Patient/${NHS}`);
    // A fresh answer, fresh fullUrls: they name entries of this Bundle, not resources anyone can read.
    expect(toSearchsetBundle({ matches: careTeams }).entry?.[0]?.fullUrl).not.toBe(entries[0]?.fullUrl);
    expect(validateFhir(bundle)).toEqual([]);
  });

  it('is an empty searchset with total 0 when nothing is visible', () => {
    const bundle = toSearchsetBundle({ matches: [], includes: [], links: [{ relation: 'self', url: `${BASE}/CareTeam?patient=${NHS}` }] });
    expect(bundle).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: `${BASE}/CareTeam?patient=${NHS}` }] });
    expect(validateFhir(bundle)).toEqual([]);
  });

  it('validates as a history of AuditEvents', () => {
    const bundle = toSearchsetBundle({ matches: [toAuditEvent(access, NHS), toAuditEvent({ ...access, id: '7000' }, NHS)], at: OUT_OF_HOURS });
    expect(bundle.total).toBe(2);
    expect(validateFhir(bundle)).toEqual([]);
  });
});

describe('profiles (README, FHIR API: Profiles)', () => {
  const expected: Record<string, string[]> = {
    CareTeam: [UK_CORE('CareTeam')],
    Flag: [UK_CORE('Flag'), PATIENT_FLAG],
    Patient: [UK_CORE('Patient')],
    Organization: [UK_CORE('Organization')],
    AuditEvent: [UK_CORE('AuditEvent')],
    OperationOutcome: [UK_CORE('OperationOutcome')],
  };

  it('names one UK Core profile per resource type, and every profile each type claims', () => {
    expect(PROFILES).toEqual(Object.fromEntries(Object.keys(expected).map((t) => [t, UK_CORE(t)])));
    expect(SUPPORTED_PROFILES).toEqual(expected);
  });

  it('puts them in meta.profile of every resource a search answer carries, and the whole answer validates', () => {
    // Two LAs' plans that disagree on the child, so that the answer carries every kind of resource.
    const other: Organisation = { ...exampleshire, code: 'TEX002', name: 'Otherborough' };
    const plans = [plan(), plan({ id: '104', laCode: other.code, planType: 'LAC', lacLegalStatus: 'S20', familyName: 'Otherchild' })];
    const warning = toIdentityWarning(personOf(plans));
    expect(warning).toBeDefined();
    const orgs = [exampleshire, other];
    for (const matches of [plans.map((p, i) => toCareTeam(p, orgs[i]!)), plans.map((p, i) => toFlag(p, orgs[i]!)), [toAuditEvent(access, NHS)]]) {
      const bundle = toSearchsetBundle({
        matches,
        includes: [toPatient(NHS, plans), ...orgs.map((o) => toOrganization(o, OUT_OF_HOURS)), toAuditEvent(access, NHS)],
        outcomes: warning ? [warning] : [], at: OUT_OF_HOURS,
      });
      const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
      expect(new Set(resources.map((r) => r.resourceType))).toEqual(new Set([matches[0]!.resourceType, 'Patient', 'Organization', 'AuditEvent', 'OperationOutcome']));
      for (const resource of resources) expect(resource.meta?.profile, resource.resourceType).toEqual(expected[resource.resourceType]);
      expect(validateFhir(bundle)).toEqual([]);
    }
  });

  it('gives each Flag its own Provenance, naming its own LA', () => {
    const other: Organisation = { ...exampleshire, code: 'TEX002', name: 'Otherborough' };
    const flags: Flag[] = [toFlag(plan(), exampleshire), toFlag(plan({ id: '104', laCode: other.code }), other)];
    expect(flags.map((f) => (f.contained?.[0] as Provenance).agent[0]?.onBehalfOf?.reference)).toEqual(['Organization/TEX001', 'Organization/TEX002']);
    expect(flags.map((f) => f.author?.reference)).toEqual(['Organization/TEX001', 'Organization/TEX002']);
  });
});

describe('toCapabilityStatement', () => {
  it('describes the interactions table as a FHIR 4.0.1 server', () => {
    const statement = toCapabilityStatement(sampleTable, { baseUrl: BASE, software: { name: 'cpis-open', version: '0.1.0' }, at: IN_HOURS, cors: false });
    expect(statement).toMatchObject({ status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], implementation: { url: BASE } });
    const [rest] = statement.rest ?? [];
    expect(rest?.mode).toBe('server');
    expect(rest?.security?.description).toMatch(/Bearer.*IsUnscheduledAccessEvent/s);
    expect(rest?.resource?.map((r) => [r.type, r.interaction?.map((i) => i.code), r.searchParam?.map((p) => `${p.name}:${p.type}`)])).toEqual([
      ['CareTeam', ['search-type'], ['patient:reference', '_count:number']],
      ['Flag', ['search-type'], ['patient:reference']],
      ['AuditEvent', ['search-type'], undefined],
      ['Communication', ['create'], undefined],
    ]);
    expect(rest?.resource?.[3]).toEqual({
      type: 'Communication', profile: 'http://hl7.org/fhir/StructureDefinition/Communication', interaction: [{ code: 'create', documentation: 'A child not brought' }],
    });
    expect(rest?.resource?.[0]).toMatchObject({ searchInclude: ['CareTeam:patient'], searchRevInclude: ['AuditEvent:patient'] });
    expect(rest?.resource?.[1]?.searchInclude).toBeUndefined();
    expect(rest?.security).toMatchObject({ cors: false, service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] }] });
    expect(toCapabilityStatement(sampleTable, { baseUrl: BASE, software: { name: 'cpis-open', version: '0.1.0' }, at: IN_HOURS, cors: true }).rest?.[0]?.security?.cors).toBe(true);
    expect(validateFhir(statement)).toEqual([]);
  });
});

describe('validateFhir (the harness itself)', () => {
  const valid = (): CareTeam => toCareTeam(plan(), exampleshire);

  it('rejects a status outside the value set, an unknown element and a no-break space', () => {
    expect(validateFhir({ ...valid(), status: 'bogus' })).toContainEqual(expect.stringMatching(/^\/status .*allowed values/));
    expect(validateFhir({ ...valid(), colour: 'red' })).toContainEqual(expect.stringContaining('(colour)'));
    expect(validateFhir({ ...valid(), name: 'Child\u00a0protection plan' })).toContainEqual(expect.stringMatching(/^\/name must match pattern/));
  });

  it('rejects empty strings, arrays and objects, which the schema alone lets through', () => {
    expect(validateFhir({ ...valid(), name: '' })).toContainEqual('/name must not be an empty string');
    expect(validateFhir({ ...valid(), category: [] })).toContainEqual('/category must not be an empty array');
    expect(validateFhir({ ...valid(), period: {} })).toContainEqual('/period must not be an empty object');
  });

  it('reports an invalid entry of a bundle at its path, checked by its own type', () => {
    const bundle = toSearchsetBundle({ matches: [{ ...valid(), status: 'bogus' } as unknown as CareTeam] });
    expect(validateFhir(bundle)).toEqual([expect.stringMatching(/^\/entry\/0\/resource\/status .*allowed values/)]);
  });

  it('checks each contained resource by its own type, at its path, and its JSON rules too', () => {
    const flag = toFlag(plan(), exampleshire);
    const provenance = flag.contained?.[0] as Provenance;
    const broken = { ...flag, contained: [{ ...provenance, recorded: '14/01/2026', colour: 'red', target: [{ reference: '' }] }] };
    expect(validateFhir(broken)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\/contained\/0\/recorded must match pattern/),
      expect.stringContaining('/contained/0 must NOT have additional properties (colour)'),
      '/contained/0/target/0/reference must not be an empty string',
    ]));
    // Only the contained resource's own type is reported, not every type of the schema's oneOf.
    expect(validateFhir(broken).every((p) => p.startsWith('/contained/0'))).toBe(true);
    expect(validateFhir({ ...flag, contained: [] })).toContainEqual('/contained must not be an empty array');
    expect(validateFhir({ ...flag, contained: [{ id: 'x' }] })).toEqual(['/contained/0: not a resource (no resourceType)']);
  });

  it('rejects something that is not a resource, and a bad date', () => {
    expect(validateFhir({ id: 'x' })).toEqual(['(root): not a resource (no resourceType)']);
    expect(validateFhir(toCareTeam(plan({ startDate: '01/05/2025' }), exampleshire))).toContainEqual(expect.stringMatching(/^\/period\/start must match pattern/));
  });

  it('is backed by mappers that refuse ids FHIR cannot carry', () => {
    expect(() => toCareTeam(plan({ id: 'plan 101' }), exampleshire)).toThrow(/FHIR id/);
  });
});
