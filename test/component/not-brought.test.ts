import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Client } from 'fhir-kit-client';
import type { Appointment, Communication, OperationOutcome } from 'fhir/r4.d.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber, syntheticPhone, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type JsonResponse, type TestService } from '../support/service.ts';
import { clinicianToken, failureOf, fhirClient, NHS_SYSTEM, searchFor } from '../support/care-setting.ts';
import { validateFhir } from '../support/fhir-schema.ts';
import { auditRowsOfBothTrails } from '../support/audit-trails.ts';
import { openStream } from '../support/stream-client.ts';
import { NOT_BROUGHT_CATEGORY as CATEGORY, notBroughtReport as report } from '../support/not-brought.ts';

// Issue 15, item 4: a clinician in scheduled care tells the owning LAs that a child on a plan (or, for
// an unborn-child plan, the mother) was not brought to an appointment, with one FHIR create.

let service: TestService;
let db: pg.Pool;
let seq = 0;
beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '0', JSON_MAX_BYTES: '8192' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const BASE = '/cpis/FHIR/R4';
const HOUR = 3_600_000;
const londonDate = (at: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(at);

/** A fresh LA holding the records, with its phones set (and, if given, its office hours). */
async function laWith(records: Record<string, unknown>[], officeHours?: object) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  if (officeHours) {
    const put = await service.fetch('/la/v1/organisation', {
      method: 'PUT', token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${org} Council`, officeHoursPhone: '0113 496 0500', edtPhone: '0113 496 0599', officeHours }),
    });
    expect(put.status).toBe(200);
  }
  expect((await (await uploadJson(service, token, ++seq, records)).json()).rejected).toBe(0);
  return { org, token };
}

/** A scheduled-care clinician (GP practice), silent-read only unless told otherwise. */
const gp = (sub: string, activities = ['B0170']) => clinicianToken(service, { sub, activities, org: 'Y01234', setting: 'gp' });

const post = (token: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> =>
  service.fetch(`${BASE}/Communication`, {
    method: 'POST', token, headers: { 'content-type': 'application/fhir+json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const mailboxOf = async (token: string) => (await (await service.fetch('/la/v1/notifications', { token })).json()).notifications;
const auditOf = (nhsNumber: string) => auditRowsOfBothTrails(db, `nhs_number = $1 AND action = 'report:was-not-brought'`, [nhsNumber]);
const accessesOf = async (nhsNumber: string) => Number((await db.query('SELECT count(*) AS n FROM accesses WHERE nhs_number = $1', [nhsNumber])).rows[0].n);

describe('POST /cpis/FHIR/R4/Communication: a child not brought to an appointment', () => {
  it('tells the owning LA, routed to its team, live on the stream, audited, and records no access', async () => {
    const record = childRecord({ familyName: 'Notbrought', givenNames: 'Robin', teamCode: 'CIN-1' });
    const nhs = record.nhsNumber as string;
    const la = await laWith([record], { timeZone: 'Europe/London', staffed: '24/7' });
    const teamPhone = syntheticPhone();
    const teams = await fetch(`${service.url}/la/v1/duty-teams`, {
      method: 'PUT', headers: { authorization: `Bearer ${la.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        teams: [{ code: 'DAY', name: 'Day duty', phone: syntheticPhone() }, { code: 'EDT', name: 'Emergency duty', phone: syntheticPhone() }, { code: 'CIN-1', name: 'Children in need 1', phone: teamPhone }],
        routing: { inHours: 'DAY', outOfHours: 'EDT', byPlanTeam: true },
      }),
    });
    expect(teams.status).toBe(200);
    const stream = await openStream(service, { token: la.token });
    const body = report(nhs, { phone: '01134960777' });

    const client = fhirClient(service, await gp('gp-nb-1'));
    const answer = (await client.create({ resourceType: 'Communication', body })) as unknown as Communication;

    const { response } = Client.httpFor(answer as never) as { response: Response };
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`${service.url}${BASE}/Communication/${answer.id}/_history/1`);
    expect(response.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(validateFhir(answer)).toEqual([]);
    expect(answer).toMatchObject({
      resourceType: 'Communication', status: 'completed', meta: { versionId: '1' }, subject: body.subject, contained: body.contained,
      recipient: [{ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: la.org }, display: `${la.org} Council` }],
    });
    expect(answer.id).toMatch(/^[0-9a-f-]{36}$/);

    const [notification, ...others] = await mailboxOf(la.token);
    expect(others).toEqual([]);
    expect(notification).toMatchObject({
      eventNumber: 1, type: 'was-not-brought', acknowledgedAt: null, escalations: 0,
      subject: { nhsNumber: nhs, familyName: 'Notbrought', givenNames: 'Robin', birthDate: record.birthDate },
      plan: { type: 'CPP', startDate: record.startDate }, plans: [{ type: 'CPP', status: 'active' }],
      appointment: { date: londonDate(new Date(body.contained[0].start as string)), service: 'Paediatric audiology' },
      reportedBy: {
        name: 'Dr Test Clinician', userId: 'gp-nb-1', role: 'clinician', organisationCode: 'Y01234', organisationName: 'Example General Hospital ED',
        setting: 'gp', sdsUserId: null, jobRole: null, callbackPhone: '0113 496 0777',
      },
      routedTo: { teamCode: 'CIN-1', teamName: 'Children in need 1', teamPhone, reason: 'plan-team' },
      outOfHours: false,
    });
    expect(notification.accessedBy).toBeUndefined();
    await stream.waitFor((frames) => frames.some((f) => f.type === 'notification' && f.notification.type === 'was-not-brought'));
    expect(stream.notifications().map((f) => f.notification)).toEqual([notification]);
    stream.ws.close();

    const [audit, ...more] = await auditOf(nhs);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({ trail: 'lasting', outcome: 'found', user_id: 'gp-nb-1', organisation_code: 'Y01234', setting: 'gp', unscheduled: null });
    expect(audit.detail).toEqual({ communicationId: answer.id, notified: [{ laCode: la.org, eventNumber: 1 }] });
    // Not an access: nothing in the history, which a silent read shows.
    expect(await accessesOf(nhs)).toBe(0);
    expect((await searchFor(service, await gp('gp-nb-1'), 'AuditEvent', nhs, { IsUnscheduledAccessEvent: 'false' })).total).toBe(0);
    // The logs hold none of it: no NHS number, name or phone.
    expect(service.logs.filter((line) => [nhs, 'Notbrought', '4960777', '496 0777'].some((v) => line.includes(v)))).toEqual([]);
  });

  it('routes to the team on duty when the plan has no team of its own, and takes application/json', async () => {
    const record = childRecord();
    const la = await laWith([record], { timeZone: 'Europe/London', staffed: '24/7' });
    const dayPhone = syntheticPhone();
    const teams = await fetch(`${service.url}/la/v1/duty-teams`, {
      method: 'PUT', headers: { authorization: `Bearer ${la.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ teams: [{ code: 'DAY', name: 'Day duty', phone: dayPhone }, { code: 'EDT', name: 'Emergency duty', phone: syntheticPhone() }], routing: { inHours: 'DAY', outOfHours: 'EDT' } }),
    });
    expect(teams.status).toBe(200);
    const res = await post(await gp('gp-nb-2', ['B0107']), report(record.nhsNumber as string), { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const [notification] = await mailboxOf(la.token);
    expect(notification.routedTo).toEqual({ teamCode: 'DAY', teamName: 'Day duty', teamPhone: dayPhone, reason: 'in-hours' });
  });

  it('tells the LA of an unborn-child plan, reported against the mother\'s NHS number', async () => {
    const mother = childRecord({ planType: 'UCPP', familyName: 'Expectant', givenNames: 'Morgan', birthDate: yearsAgo(27) });
    const la = await laWith([mother]);
    const res = await post(await gp('midwife-1'), report(mother.nhsNumber as string, { service: 'Antenatal clinic' }));
    expect(res.status).toBe(201);
    const [notification] = await mailboxOf(la.token);
    expect(notification).toMatchObject({
      type: 'was-not-brought', subject: { nhsNumber: mother.nhsNumber, familyName: 'Expectant' }, plan: { type: 'UCPP' }, appointment: { service: 'Antenatal clinic' },
      routedTo: null,
    });
  });

  it('tells each LA with a visible plan, each of its own plans only, and says how many under Prefer: return=OperationOutcome', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const home = await laWith([record]);
    const placing = await laWith([{ ...record, planType: 'LAC', lacLegalStatus: 'S20' }]);
    const bystander = await laWith([childRecord()]);
    const res = await post(await gp('gp-nb-3'), report(nhs), { Prefer: 'return=OperationOutcome' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(new RegExp(`${BASE}/Communication/[0-9a-f-]{36}/_history/1$`));
    const outcome = (await res.json()) as OperationOutcome;
    expect(validateFhir(outcome)).toEqual([]);
    expect(outcome.issue).toHaveLength(1);
    expect(outcome.issue[0]).toMatchObject({ severity: 'information', code: 'informational' });
    expect(outcome.issue[0]?.diagnostics).toMatch(/2 local authorities were told/);
    for (const la of [home, placing]) expect(outcome.issue[0]?.diagnostics).toContain(la.org);
    expect(JSON.stringify(outcome)).not.toContain(nhs);

    expect((await mailboxOf(home.token)).map((n: { plans: unknown }) => n.plans)).toEqual([[expect.objectContaining({ type: 'CPP' })]]);
    expect((await mailboxOf(placing.token)).map((n: { plans: unknown }) => n.plans)).toEqual([[expect.objectContaining({ type: 'LAC', lacLegalStatus: 'S20' })]]);
    expect(await mailboxOf(bystander.token)).toEqual([]);
    const [audit] = await auditOf(nhs);
    expect(audit.detail.notified.map((n: { laCode: string }) => n.laCode)).toEqual([home.org, placing.org].sort());
  });

  it('answers 201 when no LA holds a visible plan: told no one, not-done, kept only in the short-lived trail', async () => {
    const nhs = syntheticNhsNumber();
    const body = report(nhs);
    const res = await post(await gp('gp-nb-4'), body);
    expect(res.status).toBe(201);
    const answer = (await res.json()) as Communication;
    expect(validateFhir(answer)).toEqual([]);
    expect(answer).toMatchObject({ status: 'not-done', statusReason: { text: expect.stringMatching(/none was told/) } });
    expect(answer.recipient).toBeUndefined();
    expect((await auditOf(nhs)).map((r) => [r.trail, r.outcome])).toEqual([['unmatched', 'not-found']]);

    const minimal = await post(await gp('gp-nb-4'), body, { Prefer: 'return=minimal' });
    expect([minimal.status, await minimal.text()]).toEqual([201, '']);
    expect(minimal.headers.get('location')).toMatch(/\/Communication\/[0-9a-f-]{36}\/_history\/1$/);
  });

  it('ignores a plan past its visibility window', async () => {
    const ended = childRecord({ startDate: yearsAgo(3), endDate: yearsAgo(0, 400) });
    const la = await laWith([ended]);
    const answer = (await (await post(await gp('gp-nb-5'), report(ended.nhsNumber as string))).json()) as Communication;
    expect(answer.status).toBe('not-done');
    expect(await mailboxOf(la.token)).toEqual([]);
  });
});

describe('who may report', () => {
  it('refuses every role but clinician, and a clinician with neither B0170 nor B0107, with 403: audited, nobody told', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const la = await laWith([record]);
    for (const role of ['social-worker', 'la-system', 'ops']) {
      const token = await service.token({ role, sub: `nb-${role}`, org: la.org });
      const failure = await failureOf(fhirClient(service, token).create({ resourceType: 'Communication', body: report(nhs) }));
      expect(failure).toMatchObject({ status: 403, code: 'ACCESS_DENIED' });
    }
    const none = await gp('gp-none', []);
    expect((await post(none, report(nhs))).status).toBe(403);
    expect((await post(undefined, report(nhs))).status).toBe(401);
    expect(await mailboxOf(la.token)).toEqual([]);
    expect((await auditOf(nhs)).map((r) => [r.user_id, r.outcome, r.trail])).toEqual([
      ['nb-social-worker', 'denied', 'lasting'], ['nb-la-system', 'denied', 'lasting'], ['nb-ops', 'denied', 'lasting'], ['gp-none', 'denied', 'lasting'],
    ]);
  });
});

describe('refusals name the field', () => {
  type Body = ReturnType<typeof report>;
  const appointmentOf = (b: Body) => b.contained[0] as Appointment & Record<string, unknown>;
  const CASES: [string, (b: Body) => unknown, string][] = [
    ['no category', ({ category: _c, ...b }) => b, 'category'],
    ['another category', (b) => ({ ...b, category: [{ coding: [{ system: CATEGORY, code: 'something-else' }] }] }), 'category.0.coding'],
    ['status in-progress', (b) => ({ ...b, status: 'in-progress' }), 'status'],
    ['a subject by another identifier', (b) => ({ ...b, subject: { identifier: { system: 'https://example.org/mrn', value: '12345' } } }), 'subject.identifier.system'],
    ['an invalid NHS number', (b) => ({ ...b, subject: { identifier: { system: NHS_SYSTEM, value: badChecksumNhsNumber() } } }), 'subject.identifier.value'],
    ['a phone that is not a UK number', (b) => ({ ...b, contained: [b.contained[0], { ...b.contained[1], telecom: [{ system: 'phone', value: '12345' }] }] }), 'contained.1.telecom.0.value'],
    ['no phone among the telecoms', (b) => ({ ...b, contained: [b.contained[0], { ...b.contained[1], telecom: [{ system: 'email', value: 'gp@example.org' }] }] }), 'contained.1.telecom'],
    ['an appointment still to come', (b) => ({ ...b, contained: [{ ...appointmentOf(b), start: new Date(Date.now() + HOUR).toISOString(), end: new Date(Date.now() + 2 * HOUR).toISOString() }, b.contained[1]] }), 'contained.0.start'],
    ['an end before the start', (b) => ({ ...b, contained: [{ ...appointmentOf(b), end: new Date(Date.now() - 3 * HOUR).toISOString() }, b.contained[1]] }), 'contained.0.end'],
    ['a start with no time zone', (b) => ({ ...b, contained: [{ ...appointmentOf(b), start: '2026-01-05T09:30:00' }, b.contained[1]] }), 'contained.0.start'],
    ['an appointment that was attended', (b) => ({ ...b, contained: [{ ...appointmentOf(b), status: 'fulfilled' }, b.contained[1]] }), 'contained.0.status'],
    ['no participant', (b) => ({ ...b, contained: [{ ...appointmentOf(b), participant: undefined }, b.contained[1]] }), 'contained.0.participant'],
    ['a service with no name', (b) => ({ ...b, contained: [{ ...appointmentOf(b), serviceType: [{ coding: [{ system: 'http://snomed.info/sct', code: '310080006' }] }] }, b.contained[1]] }), 'contained.0.serviceType.0'],
    ['about another resource', (b) => ({ ...b, about: [{ reference: '#elsewhere' }] }), 'about.0.reference'],
    ['a sender that is not the role', (b) => ({ ...b, sender: { reference: '#appt' } }), 'sender.reference'],
    ['two Appointments', (b) => ({ ...b, contained: [b.contained[0], { ...appointmentOf(b), id: 'appt2' }] }), 'contained'],
    ['a Patient among the contained', (b) => ({ ...b, contained: [b.contained[0], { resourceType: 'Patient', id: 'p' }] }), 'contained.1.resourceType'],
    ['a free-text note the LA would never see', (b) => ({ ...b, note: [{ text: 'please call' }] }), 'key 9'],
    ['another resource type', (b) => ({ ...b, resourceType: 'Flag' }), 'resourceType'],
    ['not an object', () => [], '(root)'],
  ];

  it.each(CASES)('refuses %s with 400 VALIDATION_ERROR, its expression naming the field; audited, nobody told', async (_what, change, field) => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const la = await laWith([record]);
    const res = await post(await gp(`gp-refused-${syntheticLaCode()}`), change(report(nhs)));
    expect(res.status).toBe(400);
    const outcome = (await res.json()) as OperationOutcome;
    expect(outcome.issue[0]?.details?.coding?.[0]?.code).toBe('VALIDATION_ERROR');
    expect(outcome.issue.flatMap((i) => i.expression ?? [])).toContain(field);
    expect(JSON.stringify(outcome)).not.toContain(nhs);
    expect(await mailboxOf(la.token)).toEqual([]);
    expect(await accessesOf(nhs)).toBe(0);
  });

  it('audits a refused report in the trail its NHS number chooses', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    await laWith([record]);
    const bad = report(nhs, { phone: '999' });
    expect((await post(await gp('gp-bad-phone'), bad)).status).toBe(400);
    const nobody = syntheticNhsNumber();
    expect((await post(await gp('gp-bad-phone'), report(nobody, { phone: '999' }))).status).toBe(400);
    expect((await auditOf(nhs)).map((r) => [r.outcome, r.trail, r.detail.code])).toEqual([['invalid', 'lasting', 'VALIDATION_ERROR']]);
    expect((await auditOf(nobody)).map((r) => [r.outcome, r.trail])).toEqual([['invalid', 'unmatched']]);
  });

  it('refuses another content type or FHIR version (415), a body too large (413), other methods (405) and XML answers (406)', async () => {
    const token = await gp('gp-http');
    const body = report(syntheticNhsNumber());
    expect((await post(token, body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(token, body, { 'content-type': 'application/fhir+json; fhirVersion=3.0' })).status).toBe(415);
    expect((await post(token, body, { 'content-type': 'application/fhir+json; fhirVersion=4.0' })).status).toBe(201);
    expect((await post(token, '{"resourceType":')).status).toBe(400);
    expect((await post(token, { ...body, padding: 'x'.repeat(9000) })).status).toBe(413);
    expect((await post(token, body, { accept: 'application/fhir+xml' })).status).toBe(406);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await service.fetch(`${BASE}/Communication`, { method, token });
      expect([method, res.status, res.headers.get('allow')]).toEqual([method, 405, 'POST']);
    }
    expect((await service.fetch(`${BASE}/Communication/${'0'.repeat(8)}`, { token })).status).toBe(404);
  });
});
