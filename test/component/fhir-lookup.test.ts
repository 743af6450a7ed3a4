import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { CareTeam, Flag, Organization, Patient, Provenance, Resource } from 'fhir/r4.d.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, failureOf, fhirClient, includes, matches, NHS_SYSTEM, searchFor } from '../support/care-setting.ts';
import { validateFhir } from '../support/fhir-schema.ts';
import { auditRowsOfBothTrails } from '../support/audit-trails.ts';

let service: TestService;
let db: pg.Pool;
let seq = 0;
beforeAll(async () => {
  service = await startTestService();
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const phones = { officeHoursPhone: '0113 496 0100', edtPhone: '0113 496 0199' };

/** A fresh LA with its phones set, holding the given records. */
async function laWith(records: Record<string, unknown>[], name = 'Testshire') {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, ...phones }),
  });
  const ack = await (await uploadJson(service, token, ++seq, records)).json();
  expect(ack.rejected).toBe(0);
  return { org, token };
}

const UK_CORE = (name: string) => `https://fhir.hl7.org.uk/StructureDefinition/UKCore-${name}`;
/** What meta.profile says of each resource type (README, FHIR API: Profiles). */
const PROFILES: Record<string, string[]> = {
  CareTeam: [UK_CORE('CareTeam')],
  Flag: [UK_CORE('Flag'), 'https://fhir.nhs.uk/England/StructureDefinition/PatientFlag'],
  Patient: [UK_CORE('Patient')],
  Organization: [UK_CORE('Organization')],
  AuditEvent: [UK_CORE('AuditEvent')],
  OperationOutcome: [UK_CORE('OperationOutcome')],
};
const profilesOf = (bundle: import('fhir/r4.d.ts').Bundle) =>
  (bundle.entry ?? []).map((e) => [(e.resource as Resource).resourceType, (e.resource as Resource).meta?.profile]);
const expectedProfiles = (bundle: import('fhir/r4.d.ts').Bundle) =>
  (bundle.entry ?? []).map((e) => [(e.resource as Resource).resourceType, PROFILES[(e.resource as Resource).resourceType]]);

/** The audit rows naming one NHS number, from both trails (`trail` says which kept each). */
const auditRows = (nhsNumber: string) => auditRowsOfBothTrails(db, 'nhs_number = $1', [nhsNumber]);

describe('GET /cpis/FHIR/R4/CareTeam (unscheduled)', () => {
  it('returns a valid searchset with the plan, the Patient and the LA, records the access and notifies the LA', async () => {
    const record = childRecord({ familyName: 'Fhirchild', givenNames: 'Ada Mae' });
    const la = await laWith([record]);
    const token = await clinicianToken(service, { sub: 'dr-a' });
    const bundle = await searchFor(service, token, 'CareTeam', record.nhsNumber as string);

    expect(validateFhir(bundle)).toEqual([]);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    for (const entry of bundle.entry ?? []) expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const fullUrlOf = (type: string) => bundle.entry?.find((e) => e.resource?.resourceType === type)?.fullUrl;
    const [careTeam] = matches(bundle) as CareTeam[];
    expect(careTeam).toMatchObject({ resourceType: 'CareTeam', status: 'active', period: { start: record.startDate } });
    expect(careTeam?.category?.[0]?.coding?.[0]?.code).toBe('CPP');
    expect(careTeam?.managingOrganization?.[0]).toMatchObject({ reference: fullUrlOf('Organization'), identifier: { value: la.org } });
    const patient = includes(bundle).find((r) => r.resourceType === 'Patient') as Patient;
    expect(patient.identifier?.[0]).toMatchObject({ system: NHS_SYSTEM, value: record.nhsNumber });
    // Loaded with PDS_MODE=off: nobody confirmed these details against PDS, and the answer says so.
    expect(patient.identifier?.[0]?.extension).toEqual([{
      url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
      valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '02', display: 'Number present but not traced' }] },
    }]);
    // Every resource claims its UK Core profile.
    expect(profilesOf(bundle)).toEqual(expectedProfiles(bundle));
    expect(profilesOf(bundle).map(([type]) => type)).toEqual(['CareTeam', 'Patient', 'Organization', 'AuditEvent']);
    expect(patient.name?.[0]).toMatchObject({ family: 'Fhirchild', given: ['Ada', 'Mae'] });
    expect(patient.birthDate).toBe(record.birthDate);
    const organization = includes(bundle).find((r) => r.resourceType === 'Organization') as Organization;
    const numbers = (organization.telecom ?? []).map((t) => t.value);
    expect(numbers).toEqual(expect.arrayContaining([phones.officeHoursPhone, phones.edtPhone]));
    expect(JSON.stringify(organization.contact)).toMatch(/office-hours/);
    expect(JSON.stringify(organization.contact)).toMatch(/out-of-hours/);
    expect(organization.identifier).toEqual([{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: la.org }]);
    expect(organization.type?.[0]?.coding?.map((c) => `${c.system}|${c.code}`)).toEqual([
      'http://terminology.hl7.org/CodeSystem/organization-type|govt',
      'https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole|RO141',
    ]);

    const mailbox = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
    expect(mailbox.notifications).toHaveLength(1);
    expect(mailbox.notifications[0]).toMatchObject({
      eventNumber: 1, type: 'access',
      subject: { nhsNumber: record.nhsNumber, familyName: 'Fhirchild', givenNames: 'Ada Mae', birthDate: record.birthDate },
      plan: { type: 'CPP', startDate: record.startDate },
      accessedBy: { name: 'Dr Test Clinician', userId: 'dr-a', organisationCode: 'RXX01', organisationName: 'Example General Hospital ED', setting: 'emergency-department' },
      acknowledgedAt: null, acknowledgedBy: null,
    });
    expect(typeof mailbox.notifications[0].outOfHours).toBe('boolean');

    const history = await searchFor(service, token, 'AuditEvent', record.nhsNumber as string);
    expect(validateFhir(history)).toEqual([]);
    expect(history.total).toBe(1);
    expect(profilesOf(history)).toEqual(expectedProfiles(history));
    expect(profilesOf(history).map(([type]) => type)).toEqual(['AuditEvent', 'Patient']);
    const audit = await auditRows(record.nhsNumber as string);
    expect(audit.map((r) => [r.action, r.outcome, r.unscheduled])).toEqual([
      ['search:CareTeam', 'found', true],
      ['search:AuditEvent', 'found', true],
    ]);
    expect(audit[0]).toMatchObject({ user_id: 'dr-a', organisation_code: 'RXX01', setting: 'emergency-department' });
    expect(audit[0].request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts patient=<NHS number> and returns the same plans as Flags', async () => {
    const record = childRecord({ planType: 'LAC', lacLegalStatus: 'S38' });
    const la = await laWith([record]);
    const token = await clinicianToken(service, { sub: 'dr-flag' });
    const bundle = (await fhirClient(service, token).search({ resourceType: 'Flag', searchParams: { patient: record.nhsNumber as string } })) as unknown as import('fhir/r4.d.ts').Bundle;
    expect(validateFhir(bundle)).toEqual([]);
    const [flag] = matches(bundle) as Flag[];
    const organization = bundle.entry?.find((e) => e.resource?.resourceType === 'Organization');
    expect(flag).toMatchObject({ resourceType: 'Flag', status: 'active', author: { reference: organization?.fullUrl, identifier: { value: la.org } } });
    expect(flag?.code.coding?.[0]?.code).toBe('LAC');
    expect(JSON.stringify(flag)).toContain('S38');
    // NHS England Patient Flags: the CP-IS category in code, and one contained Provenance for the LA.
    expect(profilesOf(bundle)).toEqual(expectedProfiles(bundle));
    expect(flag?.code.coding).toContainEqual({ system: 'https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory', code: 'CP-IS', display: 'Child Protection - Information Sharing Flag' });
    expect(flag?.contained).toHaveLength(1);
    const provenance = flag?.contained?.[0] as Provenance;
    expect(provenance).toMatchObject({
      resourceType: 'Provenance', meta: { profile: ['https://fhir.nhs.uk/England/StructureDefinition/FlagProvenance'] },
      target: [{ reference: '#' }], agent: [{ onBehalfOf: { reference: organization?.fullUrl, identifier: { value: la.org } } }],
    });
    expect(provenance.recorded).toBe(flag?.meta?.lastUpdated);
  });

  it('answers 200 with an empty searchset when no plan is held, and notifies no one', async () => {
    const token = await clinicianToken(service);
    const nhs = syntheticNhsNumber();
    const bundle = await searchFor(service, token, 'CareTeam', nhs);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0 });
    expect(bundle.entry ?? []).toEqual([]);
    expect(validateFhir(bundle)).toEqual([]);
    expect((await auditRows(nhs)).map((r) => [r.trail, r.outcome])).toEqual([['unmatched', 'not-found']]);
  });

  it('serves the CapabilityStatement without a token, derived from the implemented searches and creates', async () => {
    const statement = (await new (await import('fhir-kit-client')).Client({ baseUrl: `${service.url}/cpis/FHIR/R4` }).capabilityStatement()) as unknown as import('fhir/r4.d.ts').CapabilityStatement;
    expect(validateFhir(statement)).toEqual([]);
    expect(statement.fhirVersion).toBe('4.0.1');
    const resources = statement.rest?.[0]?.resource ?? [];
    expect(resources.map((r) => [r.type, r.interaction?.map((i) => i.code)])).toEqual([
      ['CareTeam', ['search-type']], ['Flag', ['search-type']], ['AuditEvent', ['search-type']], ['Communication', ['create']],
    ]);
  });
});

describe('access rules', () => {
  it('lets only clinicians search', async () => {
    for (const role of ['la-system', 'social-worker', 'ops']) {
      const token = await service.token({ role, org: syntheticLaCode() });
      const failure = await failureOf(searchFor(service, token, 'CareTeam', syntheticNhsNumber()));
      expect(failure).toMatchObject({ status: 403, code: 'ACCESS_DENIED' });
    }
  });

  it('needs B0107 for an unscheduled read, and B0170 or B0107 for a silent one', async () => {
    const record = childRecord();
    await laWith([record]);
    const nhs = record.nhsNumber as string;
    const silentOnly = await clinicianToken(service, { sub: 'gp-1', activities: ['B0170'], setting: 'gp' });
    expect(await failureOf(searchFor(service, silentOnly, 'CareTeam', nhs))).toMatchObject({ status: 403, code: 'ACCESS_DENIED' });
    expect((await searchFor(service, silentOnly, 'CareTeam', nhs, { IsUnscheduledAccessEvent: 'false' })).total).toBe(1);
    const none = await clinicianToken(service, { sub: 'nobody', activities: [] });
    expect(await failureOf(searchFor(service, none, 'CareTeam', nhs, { IsUnscheduledAccessEvent: 'false' }))).toMatchObject({ status: 403 });
    const full = await clinicianToken(service, { sub: 'hv-1', setting: 'health-visiting' });
    expect((await searchFor(service, full, 'Flag', nhs, { IsUnscheduledAccessEvent: 'false' })).total).toBe(1);
    const outcomes = (await auditRows(nhs)).map((r) => [r.user_id, r.outcome, r.unscheduled, r.trail]);
    expect(outcomes).toEqual([
      ['gp-1', 'denied', true, 'lasting'],
      ['gp-1', 'found', false, 'lasting'],
      ['nobody', 'denied', false, 'lasting'],
      ['hv-1', 'found', false, 'lasting'],
    ]);
  });

  it('refuses a bad IsUnscheduledAccessEvent with 400 PRECONDITION_FAILED', async () => {
    const token = await clinicianToken(service);
    const failure = await failureOf(searchFor(service, token, 'CareTeam', syntheticNhsNumber(), { IsUnscheduledAccessEvent: 'maybe' }));
    expect(failure).toMatchObject({ status: 400, code: 'PRECONDITION_FAILED' });
    expect(failure.body.issue[0]?.expression).toEqual(['IsUnscheduledAccessEvent']);
  });

  it('refuses a bad or missing NHS number with 400 INVALID_SEARCH_DATA, never echoing it', async () => {
    const token = await clinicianToken(service);
    const client = fhirClient(service, token);
    const cases: Record<string, string>[] = [
      { 'patient:identifier': `${NHS_SYSTEM}|9990000019` },
      { 'patient:identifier': `${NHS_SYSTEM}|1111111111` },
      { 'patient:identifier': `https://example.org/other|9990000018` },
      { patient: 'not-a-number' },
      {},
    ];
    for (const searchParams of cases) {
      const failure = await failureOf(client.search({ resourceType: 'CareTeam', searchParams }));
      expect(failure).toMatchObject({ status: 400, code: 'INVALID_SEARCH_DATA' });
      expect(JSON.stringify(failure.body)).not.toContain('9990000019');
    }
  });
});

describe('which audit trail keeps a search (README, Privacy)', () => {
  it('keeps with the lasting trail searches naming a child with a visible plan, refused or not, or no valid NHS number; any other is an unmatched search', async () => {
    const held = childRecord();
    const ended = childRecord({ startDate: yearsAgo(3), endDate: yearsAgo(0, 400) });
    await laWith([held, ended]);
    const [child, pastWindow, nobody] = [held.nhsNumber as string, ended.nhsNumber as string, syntheticNhsNumber()];
    const sub = `trail-dr-${syntheticLaCode()}`;
    const dr = await clinicianToken(service, { sub });
    const silentOnly = await clinicianToken(service, { sub, activities: ['B0170'] });
    const laSystem = await service.token({ role: 'la-system', sub, org: syntheticLaCode() });
    const badHeader = { IsUnscheduledAccessEvent: 'maybe' };

    expect((await searchFor(service, dr, 'CareTeam', child)).total).toBe(1);
    expect((await searchFor(service, dr, 'CareTeam', nobody)).total).toBe(0);
    // Held but past its visibility window: no care setting sees it, so the search found nothing.
    expect((await searchFor(service, dr, 'Flag', pastWindow)).total).toBe(0);
    expect((await searchFor(service, dr, 'AuditEvent', nobody)).total).toBe(0);
    for (const [token, nhs, headers] of [[laSystem, nobody, {}], [laSystem, child, {}], [silentOnly, nobody, {}], [dr, nobody, badHeader], [dr, child, badHeader]] as const) {
      expect((await failureOf(searchFor(service, token, 'CareTeam', nhs, headers))).status).toBeGreaterThanOrEqual(400);
    }
    expect((await failureOf(searchFor(service, dr, 'CareTeam', badChecksumNhsNumber()))).status).toBe(400);

    const rows = await auditRowsOfBothTrails(db, 'user_id = $1', [sub]);
    expect(rows.map((r) => [r.action, r.outcome, r.nhs_number, r.trail])).toEqual([
      ['search:CareTeam', 'found', child, 'lasting'],
      ['search:CareTeam', 'not-found', nobody, 'unmatched'],
      ['search:Flag', 'not-found', pastWindow, 'unmatched'],
      ['search:AuditEvent', 'not-found', nobody, 'unmatched'],
      ['search:CareTeam', 'denied', nobody, 'unmatched'],
      ['search:CareTeam', 'denied', child, 'lasting'],
      ['search:CareTeam', 'denied', nobody, 'unmatched'],
      ['search:CareTeam', 'invalid', nobody, 'unmatched'],
      ['search:CareTeam', 'invalid', child, 'lasting'],
      ['search:CareTeam', 'invalid', null, 'lasting'],
    ]);
  });
});

describe('silent reads and visibility windows', () => {
  it('records no history and notifies no one for a silent read, but audits it', async () => {
    const record = childRecord();
    const la = await laWith([record]);
    const token = await clinicianToken(service, { sub: 'school-nurse', setting: 'school-nursing' });
    const bundle = await searchFor(service, token, 'CareTeam', record.nhsNumber as string, { IsUnscheduledAccessEvent: 'false' });
    expect(bundle.total).toBe(1);
    expect((await (await service.fetch('/la/v1/notifications', { token: la.token })).json()).notifications).toEqual([]);
    expect((await searchFor(service, token, 'AuditEvent', record.nhsNumber as string, { IsUnscheduledAccessEvent: 'false' })).total).toBe(0);
    expect((await auditRows(record.nhsNumber as string)).map((r) => [r.action, r.unscheduled])).toEqual([
      ['search:CareTeam', false],
      ['search:AuditEvent', false],
    ]);
  });

  it('shows ended plans as inactive inside their window (365 days, 28 for UCPP) and hides them after', async () => {
    const inside = childRecord({ startDate: yearsAgo(3), endDate: yearsAgo(0, 300) });
    const outside = childRecord({ startDate: yearsAgo(3), endDate: yearsAgo(0, 400) });
    const ucppInside = childRecord({ planType: 'UCPP', birthDate: yearsAgo(25), startDate: yearsAgo(1), endDate: yearsAgo(0, 20) });
    const ucppOutside = childRecord({ planType: 'UCPP', birthDate: yearsAgo(25), startDate: yearsAgo(1), endDate: yearsAgo(0, 30) });
    const deleted = childRecord();
    const la = await laWith([inside, outside, ucppInside, ucppOutside, deleted]);
    await uploadJson(service, la.token, ++seq, [{ ...deleted, deleteDate: yearsAgo(0) }]);
    const token = await clinicianToken(service, { sub: 'dr-window' });
    const statusOf = async (r: Record<string, unknown>) => (matches(await searchFor(service, token, 'CareTeam', r.nhsNumber as string)) as CareTeam[]).map((c) => c.status);
    expect(await statusOf(inside)).toEqual(['inactive']);
    expect(await statusOf(outside)).toEqual([]);
    expect(await statusOf(ucppInside)).toEqual(['inactive']);
    expect(await statusOf(ucppOutside)).toEqual([]);
    expect(await statusOf(deleted)).toEqual([]);
    // Only the two visible plans notified the LA.
    const mailbox = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
    expect(mailbox.notifications.map((n: { subject: { nhsNumber: string } }) => n.subject.nhsNumber).sort()).toEqual(
      [inside.nhsNumber, ucppInside.nhsNumber].sort(),
    );
  });
});

describe('concurrent lookups (the real clock)', () => {
  it('notify exactly once for 16 lookups of one child by one user at once, whatever order they take the lock in', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const org = syntheticLaCode();
      const token = await laToken(service, org);
      const record = childRecord();
      expect((await uploadJson(service, token, 1, [record])).status).toBe(201);
      const dr = await clinicianToken(service, { sub: `burst-dr-${trial}` });
      await Promise.all(Array.from({ length: 16 }, () => searchFor(service, dr, 'CareTeam', record.nhsNumber as string)));
      const mailbox = await (await service.fetch('/la/v1/notifications', { token })).json();
      expect(mailbox.notifications).toHaveLength(1);
    }
  });
});
