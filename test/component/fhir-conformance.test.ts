import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4.d.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, fhirClient, matches, NHS_SYSTEM } from '../support/care-setting.ts';
import { validateFhir } from '../support/fhir-schema.ts';
import { auditRowsOfBothTrails } from '../support/audit-trails.ts';

let service: TestService;
let db: pg.Pool;
let seq = 0;
let doctor: string;
beforeAll(async () => {
  service = await startTestService();
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
  doctor = await clinicianToken(service, { sub: 'dr-conformance', activities: ['B0107', 'B0170'] });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const BASE = '/cpis/FHIR/R4';
const SPINE = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

/** A fresh LA holding the records, phones set. */
async function laWith(records: Record<string, unknown>[]) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const ack = await (await uploadJson(service, token, ++seq, records)).json();
  expect(ack.rejected).toBe(0);
  return { org, token };
}

/** A child with two visible plans (a CPP and a LAC) held by one LA. */
async function childWithTwoPlans() {
  const first = childRecord({ planType: 'CPP', startDate: '2025-01-10' });
  const second = { ...first, planType: 'LAC', lacLegalStatus: 'S31', startDate: '2025-02-10' };
  const la = await laWith([first, second]);
  return { nhsNumber: first.nhsNumber as string, la };
}

const get = (path: string, headers: Record<string, string> = {}) =>
  service.fetch(`${BASE}${path}`, { token: doctor, headers: { IsUnscheduledAccessEvent: 'false', ...headers } });
const q = (nhsNumber: string) => `patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhsNumber}`)}`;
const outcomeOf = async (res: Response) => (await res.json()) as OperationOutcome;
const codeOf = (o: OperationOutcome) => o.issue[0]?.details?.coding?.[0];

describe('FHIR search as R4 search.html describes it', () => {
  it('answers with a self link listing exactly the parameters applied, and leaves unknown ones out', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    const res = await get(`/CareTeam?${q(nhsNumber)}&foo=bar&_elements=id`);
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as Bundle;
    expect(validateFhir(bundle)).toEqual([]);
    const self = new URL(bundle.link?.find((l) => l.relation === 'self')?.url ?? '');
    expect([...self.searchParams.keys()]).toEqual(['patient:identifier']);
    expect(self.searchParams.get('patient:identifier')).toBe(`${NHS_SYSTEM}|${nhsNumber}`);
    expect(self.pathname).toBe(`${BASE}/CareTeam`);
  });

  it('refuses unknown parameters under Prefer: handling=strict, naming the parameter by its position, and audits the refusal', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    const res = await get(`/CareTeam?${q(nhsNumber)}&foo=${nhsNumber}`, { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    const outcome = await outcomeOf(res);
    expect(codeOf(outcome)).toMatchObject({ system: SPINE, code: 'INVALID_SEARCH_DATA', display: 'Invalid search data' });
    // The second parameter: named by its position, not by what the caller wrote.
    expect(outcome.issue[0]?.expression).toEqual(['parameter 2']);
    expect(JSON.stringify(outcome)).not.toContain(nhsNumber);
    expect(JSON.stringify(outcome)).not.toContain('foo');
    const rows = await auditRowsOfBothTrails(db, 'nhs_number = $1', [nhsNumber]);
    expect(rows.map((r) => r.outcome)).toEqual(['invalid']);
    // Nor is a parameter's name repeated: it may be an NHS number too.
    const named = await get(`/CareTeam?${q(nhsNumber)}&${nhsNumber}=1`, { Prefer: 'handling=strict' });
    expect(named.status).toBe(400);
    expect(JSON.stringify(await named.json())).not.toContain(nhsNumber);
  });

  it('honours _count with next and previous links that fhir-kit-client follows, the total counting every match', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    const client = fhirClient(service, doctor);
    const headers = { IsUnscheduledAccessEvent: 'false' };
    const first = (await client.search({ resourceType: 'CareTeam', searchParams: { 'patient:identifier': `${NHS_SYSTEM}|${nhsNumber}`, _count: 1 }, options: { headers } })) as unknown as Bundle;
    expect(first.total).toBe(2);
    expect(matches(first)).toHaveLength(1);
    expect(first.link?.map((l) => l.relation)).toEqual(['self', 'next']);
    const second = (await client.nextPage({ bundle: first as never, options: { headers } })) as unknown as Bundle;
    expect(second.total).toBe(2);
    expect(matches(second)).toHaveLength(1);
    expect(matches(second)[0]?.id).not.toBe(matches(first)[0]?.id);
    expect(second.link?.map((l) => l.relation)).toEqual(['self', 'previous']);
    expect(validateFhir(second)).toEqual([]);
  });

  it('answers _summary=count and _count=0 with the total and no entries, and refuses a _count that is not a number', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    for (const extra of ['_summary=count', '_count=0']) {
      const bundle = (await (await get(`/CareTeam?${q(nhsNumber)}&${extra}`)).json()) as Bundle;
      expect(bundle).toMatchObject({ type: 'searchset', total: 2 });
      expect(bundle.entry).toBeUndefined();
      expect(new URL(bundle.link?.[0]?.url ?? '').searchParams.get(extra.split('=')[0] as string)).toBe(extra.split('=')[1]);
    }
    const bad = await get(`/CareTeam?${q(nhsNumber)}&_count=abc`);
    expect(bad.status).toBe(400);
    expect((await outcomeOf(bad)).issue[0]?.expression).toEqual(['_count']);
  });
});

describe('POST [type]/_search', () => {
  it('searches with the parameters in a form body, with the same access, notification and audit as GET', async () => {
    const record = childRecord();
    const la = await laWith([record]);
    const client = fhirClient(service, await clinicianToken(service, { sub: 'dr-post' }));
    const bundle = (await client.search({
      resourceType: 'Flag', searchParams: { 'patient:identifier': `${NHS_SYSTEM}|${record.nhsNumber}` }, options: { postSearch: true },
    })) as unknown as Bundle;
    expect(validateFhir(bundle)).toEqual([]);
    expect(bundle.total).toBe(1);
    expect(matches(bundle)[0]?.resourceType).toBe('Flag');
    const mailbox = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
    expect(mailbox.notifications.map((n: { type: string; accessedBy: { userId: string } }) => [n.type, n.accessedBy.userId])).toEqual([['access', 'dr-post']]);
    const rows = await auditRowsOfBothTrails(db, 'nhs_number = $1', [record.nhsNumber]);
    expect(rows.map((r) => [r.action, r.outcome, r.unscheduled])).toEqual([['search:Flag', 'found', true]]);
  });

  it('refuses a body that is not a form with 415, and GET on _search with 405', async () => {
    const json = await service.fetch(`${BASE}/CareTeam/_search`, { method: 'POST', token: doctor, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const wrongMethod = await get('/CareTeam/_search');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});

describe('methods, paths and content negotiation', () => {
  it('answers an unsupported interaction on a known type with 405, Allow and an OperationOutcome; an unknown path with 404', async () => {
    for (const [method, path, allow] of [['POST', '/CareTeam', 'GET'], ['PUT', '/Flag', 'GET'], ['DELETE', '/AuditEvent', 'GET'], ['POST', '/metadata', 'GET'], ['GET', '/Communication', 'POST']] as const) {
      const res = await service.fetch(`${BASE}${path}`, { method, token: doctor });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
      expect(codeOf(await outcomeOf(res))).toMatchObject({ system: SPINE, code: 'UNSUPPORTED_SERVICE' });
    }
    const options = await service.fetch(`${BASE}/CareTeam`, { method: 'OPTIONS' });
    expect([options.status, options.headers.get('allow')]).toEqual([204, 'GET']);
    const unknown = await get('/Observation');
    expect(unknown.status).toBe(404);
    expect(codeOf(await outcomeOf(unknown))).toMatchObject({ system: SPINE, code: 'RESOURCE_NOT_FOUND', display: 'Resource not found' });
  });

  it('matches paths case-sensitively, and the route label of metrics takes only the route table values', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    for (const path of [`/cpis/fhir/r4/CareTeam?${q(nhsNumber)}`, `/CPIS/FHIR/R4/careteam?${q(nhsNumber)}`, `${BASE}/careTeam?${q(nhsNumber)}`, '/LA/V1/plans', '/la/v1/PLANS', '/HEALTH/live']) {
      const res = await service.fetch(path, { token: doctor, headers: { IsUnscheduledAccessEvent: 'false' } });
      expect([path, res.status]).toEqual([path, 404]);
    }
    const metrics = await (await service.fetch('/metrics')).text();
    const routes = new Set([...metrics.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const route of routes) expect(route).toMatch(/^(unmatched|\/cpis\/FHIR\/R4(\/[A-Za-z_]+)*|\/la\/v1(\/[a-z-]+)*|\/health(\/[a-z]+)*|\/metrics|\/console.*)$/);
    expect([...routes].some((r) => /careteam|PLANS|HEALTH/.test(r ?? ''))).toBe(false);
  });

  it('negotiates: XML or another FHIR version gets 406, application/json is answered as application/json', async () => {
    const { nhsNumber } = await childWithTwoPlans();
    for (const [headers, query] of [[{ accept: 'application/fhir+xml' }, ''], [{}, '&_format=xml'], [{ accept: 'application/fhir+json; fhirVersion=3.0' }, ''], [{}, '&_format=application/fhir+xml']] as const) {
      const res = await get(`/CareTeam?${q(nhsNumber)}${query}`, headers);
      expect([JSON.stringify(headers), query, res.status]).toEqual([JSON.stringify(headers), query, 406]);
      expect(codeOf(await outcomeOf(res))?.code).toBe('UNSUPPORTED_SERVICE');
    }
    const plain = await get(`/CareTeam?${q(nhsNumber)}`, { accept: 'application/json' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
    const fhir = await get(`/CareTeam?${q(nhsNumber)}&_format=json`, { accept: 'text/html' });
    expect([fhir.status, fhir.headers.get('content-type')]).toEqual([200, 'application/fhir+json; charset=utf-8']);
    const metadata = await service.fetch(`${BASE}/metadata`, { headers: { accept: 'application/fhir+xml' } });
    expect(metadata.status).toBe(406);
  });

  it('describes exactly what it serves in the CapabilityStatement', async () => {
    const statement = (await (await service.fetch(`${BASE}/metadata`)).json()) as CapabilityStatement;
    expect(validateFhir(statement)).toEqual([]);
    const [rest] = statement.rest ?? [];
    expect(rest?.security).toMatchObject({ cors: false, service: [{ coding: [{ code: 'OAuth' }] }] });
    const careTeam = rest?.resource?.find((r) => r.type === 'CareTeam');
    expect(careTeam?.searchParam?.map((p) => p.name)).toEqual(['patient', '_count', '_summary']);
    expect(careTeam?.searchParam?.find((p) => p.name === 'patient')?.documentation).toMatch(/:identifier/);
    expect(careTeam).toMatchObject({ searchInclude: ['CareTeam:patient'], searchRevInclude: ['AuditEvent:patient'] });
    expect(careTeam?.profile).toBe('https://fhir.hl7.org.uk/StructureDefinition/UKCore-CareTeam');
    expect(rest?.resource?.find((r) => r.type === 'Flag')?.supportedProfile).toEqual([
      'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Flag', 'https://fhir.nhs.uk/England/StructureDefinition/PatientFlag',
    ]);
    // The one create: base R4 Communication, documented with what it takes and answers.
    const communication = rest?.resource?.find((r) => r.type === 'Communication');
    expect(communication).toMatchObject({ profile: 'http://hl7.org/fhir/StructureDefinition/Communication', interaction: [{ code: 'create' }] });
    expect(communication?.searchParam).toBeUndefined();
    expect(communication?.interaction?.[0]?.documentation).toMatch(/was-not-brought.*Appointment.*noshow.*PractitionerRole.*recipient.*return=OperationOutcome/s);
    expect(rest?.security?.description).toMatch(/Communication.*B0170 or B0107/);
  });
});
