import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { movableClock } from '../support/clock.ts';
import { openStream } from '../support/stream-client.ts';

// A Wednesday in November (GMT): 10:00 is in the default office hours, 22:00 is not; Christmas Day is a bank holiday.
const IN_HOURS = new Date('2026-11-11T10:00:00Z');
const OUT_OF_HOURS = new Date('2026-11-11T22:00:00Z');
const CHRISTMAS_MORNING = new Date('2026-12-25T10:00:00Z');

const clock = movableClock(IN_HOURS);
let service: TestService;
let other: TestService;
let seq = 0;
beforeAll(async () => {
  service = await startTestService({ clock });
  // A second instance on the same database: an acknowledgement made on one must reach streams on the other.
  other = await startTestService({ clock, databaseUrl: service.databaseUrl, dataDir: service.dataDir });
});
afterAll(async () => {
  await other?.stop();
  await service?.stop();
});

const TEAMS = {
  teams: [
    { code: 'DAY', name: 'Day duty team', phone: '0113 496 0100' },
    { code: 'EDT', name: 'Emergency Duty Team', phone: '0113 496 0199', escalateAfterMinutes: 10 },
    { code: 'MASH', name: 'Multi-Agency Safeguarding Hub', phone: '0113 496 0150', escalateTo: 'DAY' },
  ],
  routing: { inHours: 'DAY', outOfHours: 'EDT', byPlanTeam: true },
};

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function laWithTeams(records: Record<string, unknown>[], teams: object | null = TEAMS) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  if (teams) expect((await service.fetch('/la/v1/duty-teams', { method: 'PUT', token, ...json(teams) })).status).toBe(200);
  if (records.length) expect((await (await uploadJson(service, token, ++seq, records)).json()).rejected).toBe(0);
  return { org, token };
}

const mailboxOf = async (token: string, query = '') => {
  const res = await service.fetch(`/la/v1/notifications${query}`, { token });
  expect(res.status).toBe(200);
  return (await res.json()).notifications as { eventNumber: number; type: string; routedTo: unknown; plan: unknown; subject: { nhsNumber: string }; acknowledgedByName: string | null }[];
};

describe('PUT, GET and DELETE /la/v1/duty-teams', () => {
  it('keeps the teams with their defaults, shows them to the LA\'s social workers, and clears them', async () => {
    const { org, token } = await laWithTeams([]);
    const put = await (await service.fetch('/la/v1/duty-teams', { token })).json();
    expect(put.routing).toEqual({ inHours: 'DAY', outOfHours: 'EDT', byPlanTeam: true });
    expect(put.teams).toEqual([
      { code: 'DAY', name: 'Day duty team', phone: { national: '0113 496 0100', e164: '+441134960100' }, escalateAfterMinutes: 15, escalateTo: 'DAY', repeatMinutes: 15 },
      { code: 'EDT', name: 'Emergency Duty Team', phone: { national: '0113 496 0199', e164: '+441134960199' }, escalateAfterMinutes: 10, escalateTo: 'EDT', repeatMinutes: 10 },
      { code: 'MASH', name: 'Multi-Agency Safeguarding Hub', phone: { national: '0113 496 0150', e164: '+441134960150' }, escalateAfterMinutes: 15, escalateTo: 'DAY', repeatMinutes: 15 },
    ]);
    const worker = await laToken(service, org, 'social-worker');
    expect((await (await service.fetch('/la/v1/duty-teams', { token: worker })).json()).teams).toHaveLength(3);
    expect((await service.fetch('/la/v1/duty-teams', { method: 'PUT', token: worker, ...json(TEAMS) })).status).toBe(403);
    // Another LA sees its own (none), never this one's.
    const stranger = await laToken(service, syntheticLaCode());
    expect(await (await service.fetch('/la/v1/duty-teams', { token: stranger })).json()).toEqual({ teams: [], routing: null });

    const cleared = await service.fetch('/la/v1/duty-teams', { method: 'DELETE', token });
    expect(await cleared.json()).toEqual({ teams: [], routing: null });
    expect(await (await service.fetch('/la/v1/duty-teams', { token })).json()).toEqual({ teams: [], routing: null });
  });

  it('refuses teams that cannot work, naming every field, and changes nothing', async () => {
    const { token } = await laWithTeams([]);
    const bad = {
      teams: [
        { code: 'DAY', name: 'Day', phone: '0113 496 0100', escalateTo: 'NOBODY' },
        { code: 'DAY', name: 'Day again', phone: '12345' },
      ],
      routing: { inHours: 'DAY', outOfHours: 'EDT' },
    };
    const res = await service.fetch('/la/v1/duty-teams', { method: 'PUT', token, ...json(bad) });
    expect(res.status).toBe(400);
    const expressions = (await res.json()).issue.flatMap((i: { expression: string[] }) => i.expression);
    expect(expressions).toEqual(expect.arrayContaining(['teams/1/code', 'teams/1/phone', 'teams/0/escalateTo', 'routing/outOfHours']));
    expect((await service.fetch('/la/v1/duty-teams', { method: 'PUT', token, ...json({ ...TEAMS, extra: 1 }) })).status).toBe(400);
    expect((await service.fetch('/la/v1/duty-teams', { method: 'PUT', token, ...json({ teams: [{ code: 'day', name: 'x', phone: '0113 496 0100' }], routing: { inHours: 'day', outOfHours: 'day' } }) })).status).toBe(400);
    expect(await (await service.fetch('/la/v1/duty-teams', { token })).json()).toMatchObject({ routing: { inHours: 'DAY' } });
  });

  it('needs the LA\'s contact details first', async () => {
    const org = syntheticLaCode();
    const token = await service.token({ role: 'la-system', org, name: 'Test LA system' });
    const res = await service.fetch('/la/v1/duty-teams', { method: 'PUT', token, ...json(TEAMS) });
    expect(res.status).toBe(409);
    expect((await res.json()).issue[0].diagnostics).toMatch(/^LA_CONTACT_MISSING/);
  });
});

describe('routing of access notifications', () => {
  it('tells the day team in hours, the EDT out of hours and on bank holidays, and the plan\'s own team first', async () => {
    const plain = childRecord({ localId: 'CASE-0001' });
    const looked = childRecord({ planType: 'LAC', lacLegalStatus: 'S31', teamCode: 'MASH' });
    const unknownTeam = childRecord({ teamCode: 'GONE' });
    const la = await laWithTeams([plain, looked, unknownTeam]);
    const dr = await clinicianToken(service, { sub: `routing-${la.org}` });

    clock.set(IN_HOURS);
    await searchFor(service, dr, 'CareTeam', plain.nhsNumber as string);
    await searchFor(service, dr, 'CareTeam', looked.nhsNumber as string);
    await searchFor(service, dr, 'CareTeam', unknownTeam.nhsNumber as string);
    clock.set(OUT_OF_HOURS);
    await searchFor(service, await clinicianToken(service, { sub: `routing-b-${la.org}` }), 'CareTeam', plain.nhsNumber as string);
    clock.set(CHRISTMAS_MORNING);
    await searchFor(service, await clinicianToken(service, { sub: `routing-c-${la.org}` }), 'CareTeam', plain.nhsNumber as string);
    clock.set(IN_HOURS);

    const notes = await mailboxOf(la.token);
    expect(notes.map((n) => [n.eventNumber, n.routedTo])).toEqual([
      [1, { teamCode: 'DAY', teamName: 'Day duty team', teamPhone: '0113 496 0100', reason: 'in-hours' }],
      [2, { teamCode: 'MASH', teamName: 'Multi-Agency Safeguarding Hub', teamPhone: '0113 496 0150', reason: 'plan-team' }],
      // A team the LA does not define: routed by the hours, never to nobody.
      [3, { teamCode: 'DAY', teamName: 'Day duty team', teamPhone: '0113 496 0100', reason: 'in-hours' }],
      [4, { teamCode: 'EDT', teamName: 'Emergency Duty Team', teamPhone: '0113 496 0199', reason: 'out-of-hours' }],
      [5, { teamCode: 'EDT', teamName: 'Emergency Duty Team', teamPhone: '0113 496 0199', reason: 'out-of-hours' }],
    ]);
    // The case details a duty worker acts on.
    expect(notes[0]?.plan).toEqual({ type: 'CPP', startDate: plain.startDate, lacLegalStatus: null, localId: 'CASE-0001' });
    expect(notes[1]?.plan).toEqual({ type: 'LAC', startDate: looked.startDate, lacLegalStatus: 'S31', localId: null });

    // The plan's team is the LA's business: the reconciliation extract shows it, a clinician never sees it.
    const extract = await (await service.fetch('/la/v1/plans', { token: la.token })).json();
    expect(extract.plans.find((p: { nhsNumber: string }) => p.nhsNumber === looked.nhsNumber).teamCode).toBe('MASH');
    const bundle = await searchFor(service, dr, 'CareTeam', looked.nhsNumber as string, { IsUnscheduledAccessEvent: 'false' });
    expect(JSON.stringify(bundle)).not.toContain('MASH');
  });

  it('routes nothing for an LA that set no teams, as before', async () => {
    const record = childRecord();
    const la = await laWithTeams([record], null);
    await searchFor(service, await clinicianToken(service, { sub: `plain-${la.org}` }), 'CareTeam', record.nhsNumber as string);
    expect((await mailboxOf(la.token)).map((n) => n.routedTo)).toEqual([null]);
  });
});

describe('the mailbox and the stream by team, and searched back', () => {
  it('gives a team its own and the LA-wide notifications, and finds older ones by number, child and name', async () => {
    const dayChild = childRecord({ familyName: 'Brightwater', givenNames: 'Robin Jo' });
    const mashChild = childRecord({ teamCode: 'MASH', familyName: 'Okonkwo-Hale', givenNames: 'Sam' });
    const la = await laWithTeams([dayChild, mashChild]);
    const worker = await laToken(service, la.org, 'social-worker');
    const mashStream = await openStream(service, { token: worker, team: 'MASH', after: 0 });
    const dr = await clinicianToken(service, { sub: `team-${la.org}` });
    await searchFor(service, dr, 'CareTeam', dayChild.nhsNumber as string);
    await searchFor(service, dr, 'CareTeam', mashChild.nhsNumber as string);

    expect((await mailboxOf(la.token, '?team=MASH')).map((n) => n.eventNumber)).toEqual([2]);
    expect((await mailboxOf(la.token, '?team=DAY')).map((n) => n.eventNumber)).toEqual([1]);
    expect((await mailboxOf(la.token)).map((n) => n.eventNumber)).toEqual([1, 2]);
    await mashStream.waitFor((f) => f.some((x) => x.type === 'notification'));
    await new Promise((r) => setTimeout(r, 200));
    expect(mashStream.notifications().map((f) => f.notification.eventNumber)).toEqual([2]);
    mashStream.ws.close();

    expect((await mailboxOf(la.token, '?before=3')).map((n) => n.eventNumber)).toEqual([2, 1]);
    expect((await mailboxOf(la.token, '?before=2')).map((n) => n.eventNumber)).toEqual([1]);
    expect((await mailboxOf(la.token, `?nhsNumber=${mashChild.nhsNumber as string}`)).map((n) => n.eventNumber)).toEqual([2]);
    expect((await mailboxOf(la.token, `?nhsNumber=${syntheticNhsNumber()}`))).toEqual([]);
    expect((await mailboxOf(la.token, '?name=bright')).map((n) => n.eventNumber)).toEqual([1]);
    expect((await mailboxOf(la.token, '?name=sam%20hale')).map((n) => n.eventNumber)).toEqual([2]);
    expect((await mailboxOf(la.token, '?name=%25%25')).map((n) => n.eventNumber)).toEqual([]);
    for (const bad of ['?team=mash', '?nhsNumber=123', '?name=a', '?after=1&before=3', '?team=A&team=B']) {
      const res = await service.fetch(`/la/v1/notifications${bad}`, { token: la.token });
      expect(res.status, bad).toBe(400);
    }
    const refused = await openStream(service, { token: worker, team: 'not a team' }).catch((e: { status: number }) => e.status);
    expect(refused).toBe(400);
  });
});

describe('acknowledgements everywhere', () => {
  it('reaches every open stream of the LA on every instance within a second, with who by name, and the mailbox', async () => {
    const record = childRecord();
    const la = await laWithTeams([record]);
    const alice = await service.token({ role: 'social-worker', org: la.org, sub: 'sw-alice', name: 'Alice Duty' });
    const bob = await service.token({ role: 'social-worker', org: la.org, sub: 'sw-bob', name: 'Bob Duty' });
    const here = await openStream(service, { token: alice, after: 0 });
    const there = await openStream(other, { token: bob, after: 0 });
    const strangers = await openStream(other, { token: await laToken(other, syntheticLaCode(), 'social-worker'), after: 0 });
    await searchFor(service, await clinicianToken(service, { sub: `ack-${la.org}` }), 'CareTeam', record.nhsNumber as string);
    await Promise.all([here, there].map((s) => s.waitFor((f) => f.some((x) => x.type === 'notification'))));

    // Alice acknowledges on her stream; Bob's console, on the other instance, hears of it.
    const started = Date.now();
    here.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    await there.waitFor((f) => f.some((x) => x.type === 'acknowledgement'), 5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    const ack = there.frames.find((f) => f.type === 'acknowledgement');
    expect(ack).toMatchObject({ eventNumbers: [1], acknowledgedBy: 'sw-alice', acknowledgedByName: 'Alice Duty' });
    await here.waitFor((f) => f.some((x) => x.type === 'acknowledgement'));
    expect(strangers.frames.filter((f) => f.type === 'acknowledgement' || f.type === 'notification')).toEqual([]);

    expect((await mailboxOf(la.token))[0]?.acknowledgedByName).toBe('Alice Duty');
    const page = await (await service.fetch('/la/v1/notifications/acknowledgements', { token: la.token })).json();
    expect(page).toMatchObject({ acknowledgements: [{ ackNumber: ack?.ackNumber, eventNumbers: [1], acknowledgedBy: 'sw-alice', acknowledgedByName: 'Alice Duty' }], lastAckNumber: ack?.ackNumber });
    expect((await (await service.fetch(`/la/v1/notifications/acknowledgements?after=${ack?.ackNumber as number}`, { token: la.token })).json()).acknowledgements).toEqual([]);

    // A stream opened later replays the notification as acknowledged, by name.
    const later = await openStream(other, { token: bob, after: 0 });
    await later.waitFor((f) => f.some((x) => x.type === 'notification'));
    expect(later.notifications()[0]?.notification).toMatchObject({ eventNumber: 1, acknowledgedBy: 'sw-alice', acknowledgedByName: 'Alice Duty' });
    for (const s of [here, there, strangers, later]) s.ws.close();
  });
});
