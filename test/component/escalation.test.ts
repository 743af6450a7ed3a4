import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '../../adapters/postgres/audit-chain.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { movableClock } from '../support/clock.ts';
import { retentionOf } from '../support/audit-trails.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { openStream } from '../support/stream-client.ts';
import { childRecord, syntheticLaCode, syntheticPhone } from '../support/synthetic.ts';
import { fhirJsonPost, notBroughtReport } from '../support/not-brought.ts';

const MINUTE = 60_000;
// Passes run only when a test calls them, so that no timer races the clock a test moves.
const MANUAL = { ESCALATION_INTERVAL_SECONDS: '0' };
// A Tuesday morning, in the default office hours (weekdays 09:00–17:00, Europe/London; GMT in March).
const TUESDAY_MORNING = new Date('2026-03-10T09:30:00Z');

type Team = { code: string; name: string; phone: string; escalateAfterMinutes?: number; escalateTo?: string; repeatMinutes?: number };
type Routing = { inHours: string; outOfHours: string; byPlanTeam?: boolean };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- notifications are asserted on
type Notification = { eventNumber: number; type: string; [key: string]: any };

const clock = movableClock(TUESDAY_MORNING);
let service: TestService;
beforeAll(async () => {
  service = await startTestService({ clock, env: MANUAL });
});
afterAll(async () => {
  await service?.stop();
});

const team = (code: string, more: Partial<Team> = {}): Team => ({ code, name: `${code} duty team`, phone: syntheticPhone(), ...more });

/** A fresh LA with these duty teams (none: it sets none) that has published one plan for each child. */
async function laWith(on: TestService, children: number, dutyTeams?: { teams: Team[]; routing: Routing }) {
  const org = syntheticLaCode();
  const token = await laToken(on, org);
  if (dutyTeams) {
    const put = await on.fetch('/la/v1/duty-teams', { method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(dutyTeams) });
    expect(put.status).toBe(200);
  }
  const records = Array.from({ length: children }, () => childRecord());
  expect((await (await uploadJson(on, token, 1, records)).json()).rejected).toBe(0);
  return { org, token, nhs: records.map((r) => r.nhsNumber as string) };
}

/** The usual shape: a day team whose alerts escalate to a manager after `after` minutes, repeating every `repeat`; an EDT out of hours. */
const dayTeamEscalatingToManager = (after: number, repeat: number) => ({
  teams: [team('DAY', { escalateAfterMinutes: after, escalateTo: 'MGR', repeatMinutes: repeat }), team('MGR'), team('EDT')],
  routing: { inHours: 'DAY', outOfHours: 'EDT' },
});

let lookups = 0;
/** An unscheduled lookup by a fresh clinician: one access notification to the owning LA. */
const lookUp = async (on: TestService, nhs: string) => searchFor(on, await clinicianToken(on, { sub: `escalation-dr-${++lookups}` }), 'CareTeam', nhs);
const mailbox = async (on: TestService, token: string, query = ''): Promise<Notification[]> =>
  (await (await on.fetch(`/la/v1/notifications?after=0&limit=1000${query}`, { token })).json()).notifications;
const escalationsIn = (notifications: Notification[]) => notifications.filter((n) => n.type === 'escalation');
const acknowledge = async (on: TestService, token: string, eventNumbers: number[]) =>
  (await (await on.fetch('/la/v1/notifications/ack', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventNumbers }) })).json()).acknowledged;
const pass = (on: TestService = service) => on.composition.escalateAlerts();
const rows = async <T extends Record<string, unknown>>(sql: string, values: unknown[]) => (await service.composition.pool.query<T>(sql, values)).rows;

describe('an alert nobody acknowledges', () => {
  it('escalates to the escalation team once its team\'s time has passed, not before, as the LA\'s next event on the mailbox and the stream', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 2, dayTeamEscalatingToManager(10, 5));
    const worker = await laToken(service, la.org, 'social-worker');
    await lookUp(service, la.nhs[0] as string);
    const occurredAt = clock.now().toISOString();

    clock.advance(10 * MINUTE - 1);
    await pass();
    expect((await mailbox(service, la.token)).map((n) => n.type)).toEqual(['access']);

    // Another child's alert meanwhile takes number 2: the escalation takes the next one, with no gap.
    await lookUp(service, la.nhs[1] as string);
    clock.advance(1);
    await pass();
    const [original, other, escalation, ...rest] = await mailbox(service, la.token);
    expect(rest).toEqual([]);
    expect(other).toMatchObject({ eventNumber: 2, type: 'access', escalations: 0, escalatedAt: null });
    expect(original).toMatchObject({
      eventNumber: 1, type: 'access', routedTo: { teamCode: 'DAY', reason: 'in-hours' },
      escalations: 1, escalatedAt: clock.now().toISOString(), acknowledgedAt: null,
    });
    expect(escalation).toEqual({
      eventNumber: 3, type: 'escalation', occurredAt: clock.now().toISOString(),
      subject: original?.subject, plan: original?.plan, plans: original?.plans,
      accessedBy: original?.accessedBy, detailsDiffer: original?.detailsDiffer,
      outOfHours: false,
      routedTo: { teamCode: 'MGR', teamName: 'MGR duty team', teamPhone: expect.any(String), reason: 'escalation' },
      escalates: { eventNumber: 1, type: 'access', occurredAt, routedTo: original?.routedTo },
      escalation: 1, unacknowledgedMinutes: 10,
      acknowledgedAt: null, acknowledgedBy: null, acknowledgedByName: null, escalatedAt: null, escalations: 0,
    });

    const stream = await openStream(service, { token: worker, after: 0 });
    await stream.waitFor((frames) => frames.filter((f) => f.type === 'notification').length === 3);
    expect(stream.notifications().map((f) => f.notification)).toEqual(await mailbox(service, la.token));
    stream.ws.close();
    // The escalation team's own view holds the escalation; the team first told keeps its alerts.
    expect((await mailbox(service, worker, '&team=MGR')).map((n) => n.eventNumber)).toEqual([3]);
    expect((await mailbox(service, worker, '&team=DAY')).map((n) => n.eventNumber)).toEqual([1, 2]);
    const managers = await openStream(service, { token: worker, after: 0, team: 'MGR' });
    // Replay is in order: once 3 is in, 1 and 2 would have come before it, had the filter let them.
    await managers.waitFor((frames) => frames.some((f) => f.type === 'notification' && f.notification.eventNumber === 3));
    expect(managers.notifications().map((f) => f.notification.eventNumber)).toEqual([3]);
    managers.ws.close();
  });

  it('escalates again every repeatMinutes after the last escalation, counting them, until acknowledged', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1, dayTeamEscalatingToManager(10, 5));
    await lookUp(service, la.nhs[0] as string);
    clock.advance(10 * MINUTE);
    await pass();
    clock.advance(5 * MINUTE - 1);
    await pass();
    expect(escalationsIn(await mailbox(service, la.token))).toHaveLength(1);
    clock.advance(1);
    await pass();
    clock.advance(5 * MINUTE);
    await pass();
    const notifications = await mailbox(service, la.token);
    expect(notifications.map((n) => [n.eventNumber, n.type, n.escalation, n.unacknowledgedMinutes, n.escalates?.eventNumber])).toEqual([
      [1, 'access', undefined, undefined, undefined],
      [2, 'escalation', 1, 10, 1],
      [3, 'escalation', 2, 15, 1],
      [4, 'escalation', 3, 20, 1],
    ]);
    expect(notifications[0]).toMatchObject({ escalations: 3, escalatedAt: clock.now().toISOString() });
  });

  it('stops escalating once its original, or any of its escalations, is acknowledged: the whole alert is', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 2, dayTeamEscalatingToManager(10, 5));
    await lookUp(service, la.nhs[0] as string); // 1
    await lookUp(service, la.nhs[1] as string); // 2
    clock.advance(10 * MINUTE);
    await pass(); // 3 and 4 escalate 1 and 2
    expect(await acknowledge(service, la.token, [1])).toEqual([1, 3]);
    expect(await acknowledge(service, la.token, [4])).toEqual([2, 4]);
    clock.advance(60 * MINUTE);
    await pass();
    const notifications = await mailbox(service, la.token);
    expect(notifications.map((n) => [n.eventNumber, n.type, n.escalations, n.acknowledgedAt !== null])).toEqual([
      [1, 'access', 1, true], [2, 'access', 1, true], [3, 'escalation', 0, true], [4, 'escalation', 0, true],
    ]);
  });

  it('escalates after the default 15 minutes, to the same team, when the team sets neither', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1, { teams: [team('DAY'), team('EDT')], routing: { inHours: 'DAY', outOfHours: 'EDT' } });
    await lookUp(service, la.nhs[0] as string);
    clock.advance(15 * MINUTE - 1);
    await pass();
    expect(escalationsIn(await mailbox(service, la.token))).toEqual([]);
    clock.advance(1);
    await pass();
    const [escalation] = escalationsIn(await mailbox(service, la.token));
    expect(escalation).toMatchObject({ eventNumber: 2, routedTo: { teamCode: 'DAY', reason: 'escalation' }, escalates: { routedTo: { teamCode: 'DAY', reason: 'in-hours' } } });
  });

  it('says whether it is out of hours at the time of the escalation, not of the alert', async () => {
    clock.set(new Date('2026-03-10T16:55:00Z'));
    const la = await laWith(service, 1, dayTeamEscalatingToManager(10, 10));
    await lookUp(service, la.nhs[0] as string);
    clock.advance(10 * MINUTE);
    await pass();
    const [original, escalation] = await mailbox(service, la.token);
    expect(original).toMatchObject({ outOfHours: false, routedTo: { teamCode: 'DAY' } });
    expect(escalation).toMatchObject({ type: 'escalation', outOfHours: true, routedTo: { teamCode: 'MGR' } });
  });

  it('of a team the LA has since removed still escalates, after the default time, to the out-of-hours team; with no teams left, none does', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 2, dayTeamEscalatingToManager(5, 5));
    await lookUp(service, la.nhs[0] as string);
    const put = await service.fetch('/la/v1/duty-teams', {
      method: 'PUT', token: la.token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ teams: [team('MASH'), team('EDT')], routing: { inHours: 'MASH', outOfHours: 'EDT' } }),
    });
    expect(put.status).toBe(200);
    clock.advance(15 * MINUTE - 1);
    await pass();
    expect(escalationsIn(await mailbox(service, la.token))).toEqual([]);
    clock.advance(1);
    await pass();
    expect(escalationsIn(await mailbox(service, la.token)).map((n) => n.routedTo.teamCode)).toEqual(['EDT']);

    await lookUp(service, la.nhs[1] as string);
    expect((await service.fetch('/la/v1/duty-teams', { method: 'DELETE', token: la.token })).status).toBe(200);
    clock.advance(120 * MINUTE);
    await pass();
    expect((await mailbox(service, la.token)).map((n) => n.type)).toEqual(['access', 'escalation', 'access']);
  });
});

describe('an LA with no duty teams', () => {
  it('never has an alert escalated: its notifications go to every worker, as before', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1);
    await lookUp(service, la.nhs[0] as string);
    for (let i = 0; i < 3; i++) {
      clock.advance(60 * MINUTE);
      await pass();
    }
    expect(await mailbox(service, la.token)).toEqual([expect.objectContaining({ eventNumber: 1, type: 'access', routedTo: null, escalations: 0, escalatedAt: null })]);
  });
});

describe('the escalation job on several instances', () => {
  let second: TestService;
  beforeAll(async () => {
    second = await startTestService({ clock, env: MANUAL, databaseUrl: service.databaseUrl, dataDir: service.dataDir });
  });
  afterAll(async () => {
    await second?.stop();
  });

  it('makes exactly one escalation per due alert when passes run on two instances at once, with lookups going on, and gap-free numbers', async () => {
    clock.set(TUESDAY_MORNING);
    const las = [await laWith(service, 8, dayTeamEscalatingToManager(10, 10)), await laWith(second, 8, dayTeamEscalatingToManager(10, 10))];
    for (const la of las) for (const nhs of la.nhs.slice(0, 6)) await lookUp(service, nhs);
    clock.advance(10 * MINUTE);
    const late = las.flatMap((la) => la.nhs.slice(6));
    await Promise.all([pass(service), pass(second), pass(service), pass(second), ...late.map((nhs, i) => lookUp(i % 2 ? service : second, nhs))]);
    await Promise.all([pass(service), pass(second)]);

    for (const la of las) {
      const notifications = await mailbox(second, la.token);
      expect(notifications.map((n) => n.eventNumber)).toEqual(notifications.map((_, i) => i + 1));
      const escalated = escalationsIn(notifications).map((n) => n.escalates.eventNumber).sort((a, b) => a - b);
      const originals = notifications.filter((n) => n.type === 'access');
      expect(originals).toHaveLength(8);
      // The six alerts due, once each; the two that arrived with the passes were not due yet.
      expect(escalated).toEqual(originals.filter((n) => n.escalations === 1).map((n) => n.eventNumber));
      expect(escalated).toHaveLength(6);
      expect(originals.filter((n) => n.escalations === 0)).toHaveLength(2);
    }
  });

  it('carries on where it left off after a restart: the state is in PostgreSQL', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1, dayTeamEscalatingToManager(10, 5));
    await lookUp(service, la.nhs[0] as string);
    clock.advance(10 * MINUTE);
    await pass(second);
    await second.stop();
    second = await startTestService({ clock, env: MANUAL, databaseUrl: service.databaseUrl, dataDir: service.dataDir });
    clock.advance(5 * MINUTE - 1);
    await pass(second);
    clock.advance(1);
    await pass(second);
    expect(escalationsIn(await mailbox(second, la.token)).map((n) => n.escalation)).toEqual([1, 2]);
  });
});

describe('a pass', () => {
  it('queues at most ESCALATION_BATCH_SIZE escalations, in event order, and says there may be more', async () => {
    const bounded = await startTestService({ clock, env: { ...MANUAL, ESCALATION_BATCH_SIZE: '2' } });
    try {
      clock.set(TUESDAY_MORNING);
      const la = await laWith(bounded, 5, dayTeamEscalatingToManager(10, 60));
      for (const nhs of la.nhs) await lookUp(bounded, nhs);
      clock.advance(10 * MINUTE);
      const summaries = [await pass(bounded), await pass(bounded), await pass(bounded), await pass(bounded)];
      expect(summaries).toEqual([
        { escalated: 2, las: [la.org], more: true }, { escalated: 2, las: [la.org], more: true },
        { escalated: 1, las: [la.org], more: false }, { escalated: 0, las: [], more: false },
      ]);
      expect(escalationsIn(await mailbox(bounded, la.token)).map((n) => [n.eventNumber, n.escalates.eventNumber])).toEqual([[6, 1], [7, 2], [8, 3], [9, 4], [10, 5]]);
    } finally {
      await bounded.stop();
    }
  });
});

describe('what an escalation leaves behind', () => {
  it('one audit row per escalation, by the escalation job, naming the child, the event numbers and the teams; the chain still verifies', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1, dayTeamEscalatingToManager(10, 5));
    await lookUp(service, la.nhs[0] as string);
    clock.advance(10 * MINUTE);
    await pass();
    clock.advance(5 * MINUTE);
    await pass();
    const audit = await rows<{ user_id: string; user_role: string; organisation_code: string; outcome: string; detail: unknown }>(
      `SELECT user_id, user_role, organisation_code, outcome, detail FROM audit_events WHERE action = 'escalate' AND nhs_number = $1 ORDER BY id`, [la.nhs[0]],
    );
    const row = (eventNumber: number, escalation: number, unacknowledgedMinutes: number) => ({
      user_id: 'cpis-escalation', user_role: 'system', organisation_code: 'CPIS', outcome: 'ok',
      detail: { laCode: la.org, eventNumber, escalates: 1, escalation, fromTeam: 'DAY', toTeam: 'MGR', unacknowledgedMinutes },
    });
    expect(audit).toEqual([row(2, 1, 10), row(3, 2, 15)]);
    expect((await verifyAuditChains(service.composition.pool, { retentionDays: retentionOf(MANUAL) })).ok).toBe(true);
  });

  it('metrics: escalations counted by LA, and the oldest unacknowledged alert\'s age per LA until it is acknowledged; no patient data', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 2, dayTeamEscalatingToManager(10, 5));
    await lookUp(service, la.nhs[0] as string);
    clock.advance(3 * MINUTE);
    await lookUp(service, la.nhs[1] as string);
    clock.advance(7 * MINUTE);
    await pass();
    clock.advance(MINUTE);
    const scrape = async () => (await service.fetch('/metrics')).text();
    const valueOf = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    let text = await scrape();
    expect(valueOf(text, `cpis_alerts_escalated_total{la="${la.org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_alerts_oldest_unacknowledged_seconds{la="${la.org}"}`)).toBe(11 * 60);
    for (const nhs of la.nhs) expect(text).not.toContain(nhs);

    expect(await acknowledge(service, la.token, [1])).toEqual([1, 3]);
    expect(valueOf(await scrape(), `cpis_alerts_oldest_unacknowledged_seconds{la="${la.org}"}`)).toBe(8 * 60);
    await acknowledge(service, la.token, [2]);
    text = await scrape();
    expect(valueOf(text, `cpis_alerts_oldest_unacknowledged_seconds{la="${la.org}"}`)).toBeUndefined();
    expect(valueOf(text, `cpis_alerts_escalated_total{la="${la.org}"}`)).toBe(1);
  });
});

describe('the periodic job', () => {
  it('runs by itself every ESCALATION_INTERVAL_SECONDS on an instance that has one', async () => {
    const timed = await startTestService({ clock, env: { ESCALATION_INTERVAL_SECONDS: '1' }, databaseUrl: service.databaseUrl, dataDir: service.dataDir });
    try {
      clock.set(TUESDAY_MORNING);
      const la = await laWith(timed, 1, dayTeamEscalatingToManager(10, 60));
      const stream = await openStream(timed, { token: await laToken(timed, la.org, 'social-worker'), after: 0 });
      await lookUp(timed, la.nhs[0] as string);
      clock.advance(10 * MINUTE);
      await stream.waitFor((frames) => frames.some((f) => f.type === 'notification' && f.notification.type === 'escalation'));
      expect(stream.notifications().map((f) => [f.notification.eventNumber, f.notification.type])).toEqual([[1, 'access'], [2, 'escalation']]);
      stream.ws.close();
    } finally {
      await timed.stop();
    }
  });
});

describe('a child not brought, that nobody acknowledges', () => {
  it('escalates like an access alert, carrying the appointment and who to call back', async () => {
    clock.set(TUESDAY_MORNING);
    const la = await laWith(service, 1, dayTeamEscalatingToManager(10, 5));
    const gp = await clinicianToken(service, { sub: 'escalation-gp', activities: ['B0170'], org: 'Y01234', setting: 'gp' });
    const nhs = la.nhs[0] as string;
    const told = await service.fetch('/cpis/FHIR/R4/Communication', { ...fhirJsonPost(notBroughtReport(nhs, { phone: '0113 496 0777', start: new Date(clock.now().getTime() - 60 * MINUTE) })), token: gp });
    expect(told.status).toBe(201);
    clock.advance(10 * MINUTE);
    await pass();
    const [report, escalation, ...rest] = await mailbox(service, la.token);
    expect(rest).toEqual([]);
    expect(report).toMatchObject({ eventNumber: 1, type: 'was-not-brought', escalations: 1, routedTo: { teamCode: 'DAY' } });
    expect(escalation).toMatchObject({
      eventNumber: 2, type: 'escalation', escalates: { eventNumber: 1, type: 'was-not-brought' }, routedTo: { teamCode: 'MGR', reason: 'escalation' },
      reportedBy: { callbackPhone: '0113 496 0777', organisationCode: 'Y01234' }, appointment: report?.appointment,
    });
    expect(escalation).not.toHaveProperty('accessedBy');
    // Acknowledging the escalation acknowledges the report too: nothing repeats.
    expect(await acknowledge(service, la.token, [2])).toEqual([1, 2]);
    clock.advance(60 * MINUTE);
    await pass();
    expect(escalationsIn(await mailbox(service, la.token))).toHaveLength(1);
  });
});
