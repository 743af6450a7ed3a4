import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CareTeam } from 'fhir/r4.d.ts';
import { addDays, londonDateOf } from '../../src/domain/dates.ts';
import { PLAN_TYPES, type PlanType } from '../../src/domain/plan.ts';
import { visibilityOf } from '../../src/domain/visibility.ts';
import { verifyAuditChains } from '../../adapters/postgres/audit-chain.ts';
import { composeSubjectAccess } from '../../src/compose.ts';
import { RETENTION_LOCK } from '../../adapters/postgres/retention-store.ts';
import { clinicianToken, matches, searchFor } from '../support/care-setting.ts';
import { HOUR, movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { openStream } from '../support/stream-client.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { ageTrails, appendRowsOfServiceTime, checkpointOf, retentionOf } from '../support/audit-trails.ts';

const DAY = 24 * HOUR;
const WINDOWS = { CPP: 365, LAC: 365, UCPP: 28 } as const;
// Passes run only when a test calls them; batches of two make every step loop.
const MANUAL = { RETENTION_INTERVAL_SECONDS: '0', RETENTION_BATCH_SIZE: '2' };
const NOTHING = { endedOver18: 0, notified: 0, plansPurged: 0, peopleForgotten: 0, notificationsPurged: 0, auditPurged: 0, unmatchedSearchesPurged: 0, refusalsPurged: 0 };

type Row = Record<string, unknown>;
const rows = async <T extends Row = Row>(service: TestService, sql: string, values: unknown[] = []) => (await service.composition.pool.query<T>(sql, values)).rows;
const run = (service: TestService) => service.composition.runRetention();
const mailbox = async (service: TestService, token: string, after = 0) => (await service.fetch(`/la/v1/notifications?after=${after}&limit=1000`, { token })).json();
const eventNumbers = (notifications: { eventNumber: number }[]) => notifications.map((n) => n.eventNumber);
const extract = async (service: TestService, token: string) =>
  (await (await service.fetch('/la/v1/plans?limit=1000', { token })).json()).plans as { nhsNumber: string; planType: string; endDate: string | null }[];

/** A fresh LA that has published these records (all loaded) in one batch. */
async function laWith(service: TestService, records: Row[]): Promise<{ org: string; token: string }> {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const ack = await (await uploadJson(service, token, 1, records)).json();
  expect(ack).toMatchObject({ result: 'CPF02', rejected: 0 });
  return { org, token };
}

/** Care-setting reads: unscheduled ones record an access; silent ones only look. */
async function unscheduledLookup(service: TestService, nhsNumber: string, sub: string) {
  return searchFor(service, await clinicianToken(service, { sub }), 'CareTeam', nhsNumber);
}
async function silentLookup(service: TestService, nhsNumber: string) {
  const token = await clinicianToken(service, { sub: 'silent-reader', activities: ['B0170'] });
  return searchFor(service, token, 'CareTeam', nhsNumber, { IsUnscheduledAccessEvent: 'false' });
}

describe('plans whose subject turns 18', () => {
  // A Tuesday, in office hours; the CPP subject turns 18 two days later.
  const clock = movableClock(new Date('2026-03-10T10:00:00Z'));
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ clock, env: MANUAL });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('end on the 18th birthday, once, and the owning LA is told on its mailbox and stream; UCPP and LA-ended plans are left alone', async () => {
    const cpp = childRecord({ birthDate: '2008-03-12', startDate: '2024-01-10' });
    const lac = childRecord({ planType: 'LAC', lacLegalStatus: 'S31', birthDate: '2008-03-11', startDate: '2023-05-02', endDate: '2027-01-01' });
    const mother = childRecord({ planType: 'UCPP', birthDate: '2008-03-11', startDate: '2026-01-05' });
    const endedByLa = childRecord({ birthDate: '2008-03-11', startDate: '2024-02-01', endDate: '2026-03-01' });
    const young = childRecord({ birthDate: '2012-06-01' });
    const la = await laWith(service, [cpp, lac, mother, endedByLa, young]);
    const other = await laWith(service, [childRecord()]);
    const stream = await openStream(service, { token: await laToken(service, la.org, 'social-worker'), after: 0 });

    expect(await run(service)).toEqual({ ran: true, ...NOTHING });
    clock.set(new Date('2026-03-12T10:00:00Z'));
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, endedOver18: 2, notified: 2 });

    const { notifications, lastEventNumber } = await mailbox(service, la.token);
    expect(lastEventNumber).toBe(2);
    expect(eventNumbers(notifications)).toEqual([1, 2]);
    const about = (record: Row) => notifications.find((n: { subject: { nhsNumber: string } }) => n.subject.nhsNumber === record.nhsNumber);
    expect(about(cpp)).toMatchObject({
      type: 'plan-ended-over-18', occurredAt: '2026-03-12T10:00:00.000Z', outOfHours: false, endDate: '2026-03-12',
      subject: { familyName: 'Testchild', givenNames: 'Alex Sam', birthDate: '2008-03-12' },
      plan: { type: 'CPP', startDate: '2024-01-10' }, acknowledgedAt: null,
    });
    expect(about(lac)).toMatchObject({ type: 'plan-ended-over-18', endDate: '2026-03-11', plan: { type: 'LAC', startDate: '2023-05-02' } });
    expect((await mailbox(service, other.token)).notifications).toEqual([]);
    await stream.waitFor((frames) => frames.filter((f) => f.type === 'notification').length === 2);
    expect(stream.notifications().map((f) => [f.notification.eventNumber, f.notification.type])).toEqual([[1, 'plan-ended-over-18'], [2, 'plan-ended-over-18']]);
    stream.ws.close();

    // The end dates are in the LA's reconciliation extract; the UCPP (the mother's) runs on.
    const held = new Map((await extract(service, la.token)).map((p) => [p.nhsNumber, p.endDate]));
    expect(Object.fromEntries([cpp, lac, mother, endedByLa, young].map((r) => [r.planType + ':' + String(r.birthDate), held.get(r.nhsNumber as string)]))).toEqual({
      'CPP:2008-03-12': '2026-03-12', 'LAC:2008-03-11': '2026-03-11', 'UCPP:2008-03-11': null, 'CPP:2008-03-11': '2026-03-01', 'CPP:2012-06-01': null,
    });
    // Still visible, as ended, for its window.
    const seen = await silentLookup(service, cpp.nhsNumber as string);
    expect(seen.total).toBe(1);
    expect((matches(seen)[0] as CareTeam).period?.end).toBe('2026-03-12');

    // Passes later that day, a month on, or on several instances never tell the LA twice.
    expect(await run(service)).toEqual({ ran: true, ...NOTHING });
    clock.advance(31 * DAY);
    expect(await run(service)).toEqual({ ran: true, ...NOTHING });
    expect(eventNumbers((await mailbox(service, la.token)).notifications)).toEqual([1, 2]);

    const audit = await rows<{ nhs_number: string | null; user_role: string; detail: Record<string, number> }>(
      service, `SELECT nhs_number, user_role, detail FROM audit_events WHERE action = 'retention:plan-ended-over-18'`,
    );
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit.every((a) => a.nhs_number === null && a.user_role === 'system')).toBe(true);
    expect(audit.reduce((sum, a) => sum + (a.detail.notified ?? 0), 0)).toBe(2);
    expect(audit.reduce((sum, a) => sum + (a.detail.ended ?? 0), 0)).toBe(2);
    expect(Object.keys(audit[0]?.detail ?? {}).sort()).toEqual(['ended', 'examined', 'notified']);

    const metrics = await (await service.fetch('/metrics')).text();
    expect(metrics).toMatch(/cpis_retention_rows_total\{kind="ended-over-18"\} 2\b/);
    expect(service.logs.join('\n')).not.toMatch(new RegExp(`${cpp.nhsNumber}|${lac.nhsNumber}|Testchild`));
  });

  it('does nothing at all when nothing is due', async () => {
    const snapshot = () =>
      Promise.all([
        rows(service, 'SELECT count(*)::int AS n, max(id)::text AS last FROM audit_events'),
        rows(service, 'SELECT la_code, last_event_number FROM la_event_counters ORDER BY la_code'),
        rows(service, 'SELECT id, end_date, updated_at, over_18_handled_at FROM plans ORDER BY id'),
        rows(service, 'SELECT count(*)::int AS n FROM notifications'),
      ]);
    await laWith(service, [childRecord(), childRecord({ planType: 'UCPP', birthDate: '1990-01-01' })]);
    const before = await snapshot();
    expect(await run(service)).toEqual({ ran: true, ...NOTHING });
    expect(await snapshot()).toEqual(before);
  });
});

describe('purging plans past their visibility window', () => {
  const clock = movableClock(new Date('2025-03-01T10:00:00Z'));
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ clock, env: MANUAL });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('removes them from lookups, the extract and the table, keeps those inside the window, and forgets people no longer held', async () => {
    const goneCpp = childRecord({ birthDate: '2015-04-01', startDate: '2024-01-10', endDate: '2025-03-09' });
    const keptCpp = childRecord({ birthDate: '2015-04-01', startDate: '2024-01-10', endDate: '2025-03-10' });
    const goneUcpp = childRecord({ planType: 'UCPP', birthDate: '1995-05-05', startDate: '2025-02-01', endDate: '2026-02-09' });
    const keptUcpp = childRecord({ planType: 'UCPP', birthDate: '1995-05-05', startDate: '2025-02-01', endDate: '2026-02-10' });
    // Turns 18 on 2025-03-09: its window has passed too by the time of the pass.
    const adult = childRecord({ planType: 'LAC', lacLegalStatus: 'S20', birthDate: '2007-03-09', startDate: '2024-06-01' });
    const twoPlans = childRecord({ birthDate: '2016-02-02', startDate: '2024-01-10', endDate: '2025-03-09' });
    const twoPlansLac = { ...twoPlans, planType: 'LAC', lacLegalStatus: 'S31', startDate: '2025-02-01', endDate: undefined };
    const deleted = childRecord();
    const all = [goneCpp, keptCpp, goneUcpp, keptUcpp, adult, twoPlans, twoPlansLac, deleted];
    const la = await laWith(service, all);
    for (const r of [goneCpp, keptCpp, adult, twoPlans]) expect((await unscheduledLookup(service, r.nhsNumber as string, 'purge-dr')).total).toBeGreaterThan(0);
    const nhs = (r: Row) => r.nhsNumber as string;
    const accessesOf = async (r: Row) => (await rows(service, 'SELECT 1 FROM accesses WHERE nhs_number = $1', [nhs(r)])).length;
    expect(await accessesOf(goneCpp)).toBe(1);

    // Data from before delete dates were applied at upload: still held with one.
    await rows(service, `UPDATE plans SET delete_date = '2025-03-05' WHERE nhs_number = $1`, [nhs(deleted)]);
    clock.set(new Date('2026-03-10T10:00:00Z'));
    expect((await extract(service, la.token)).length).toBe(8);
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, endedOver18: 1, plansPurged: 5, peopleForgotten: 4 });

    const expected = [[nhs(keptCpp), 'CPP'], [nhs(keptUcpp), 'UCPP'], [nhs(twoPlans), 'LAC']].sort();
    expect((await extract(service, la.token)).map((p) => [p.nhsNumber, p.planType]).sort()).toEqual(expected);
    const inTable = await rows<{ nhs_number: string; plan_type: string }>(service, 'SELECT nhs_number, plan_type FROM plans WHERE la_code = $1', [la.org]);
    expect(inTable.map((r) => [r.nhs_number, r.plan_type]).sort()).toEqual(expected);
    expect((await silentLookup(service, nhs(keptCpp))).total).toBe(1);
    expect((await silentLookup(service, nhs(keptUcpp))).total).toBe(1);
    expect((await silentLookup(service, nhs(goneCpp))).total).toBe(0);

    // The access history goes with a person's last plan; the PDS re-check forgets them too.
    expect(await accessesOf(goneCpp)).toBe(0);
    expect(await accessesOf(adult)).toBe(0);
    expect(await accessesOf(twoPlans)).toBe(1);
    expect(await accessesOf(keptCpp)).toBe(1);
    const tracked = (await rows<{ nhs_number: string }>(service, 'SELECT nhs_number FROM pds_rechecks')).map((r) => r.nhs_number);
    expect(tracked).toEqual(expect.arrayContaining([nhs(keptCpp), nhs(keptUcpp), nhs(twoPlans)]));
    for (const r of [goneCpp, goneUcpp, adult, deleted]) expect(tracked).not.toContain(nhs(r));
    // A plan already past its window when its subject's age ended it is not announced: it is simply purged.
    const { notifications } = await mailbox(service, la.token);
    expect(notifications.filter((n: { type: string }) => n.type !== 'access')).toEqual([]);
    // What the LA was told about a purged child stays, under the notifications' own retention.
    expect(notifications.some((n: { subject: { nhsNumber: string } }) => n.subject.nhsNumber === nhs(goneCpp))).toBe(true);

    const audit = await rows<{ nhs_number: string | null; detail: Record<string, number> }>(service, `SELECT nhs_number, detail FROM audit_events WHERE action = 'retention:purge-plans'`);
    expect(audit.length).toBe(3);
    expect(audit.every((a) => a.nhs_number === null)).toBe(true);
    expect(audit.reduce((sum, a) => sum + a.detail.plans!, 0)).toBe(5);
    expect(audit.reduce((sum, a) => sum + a.detail.deletedInError!, 0)).toBe(1);

    // The last day of a window is still inside it; the next day is not.
    clock.advance(DAY);
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, plansPurged: 2, peopleForgotten: 2 });
    expect((await extract(service, la.token)).map((p) => p.nhsNumber)).toEqual([nhs(twoPlans)]);
  });

  it('purges exactly the plans the lookup rule calls gone, for any mix of ages, end dates and plan types', async () => {
    const org = syntheticLaCode();
    await rows(service, `INSERT INTO organisations (code, name, office_hours) VALUES ($1, 'Generated Council', '{"timeZone":"Europe/London","days":{"mon":{"opens":"09:00","closes":"17:00"}}}')`, [org]);
    const today = londonDateOf(clock.now());
    const dayIn = (from: number, to: number) => fc.integer({ min: from, max: to }).map((n) => addDays(today, n));
    const generated = fc.sample(
      fc.record({ planType: fc.constantFrom<PlanType>(...PLAN_TYPES), birthDate: dayIn(-30 * 366, 0), end: fc.option(dayIn(-800, 400), { nil: null }) }),
      { numRuns: 200, seed: 20260310 },
    );
    const plans = generated.map((g) => ({ ...g, endDate: g.end !== null && g.end < g.birthDate ? g.birthDate : g.end, deleteDate: null, nhsNumber: syntheticNhsNumber() }));
    for (const p of plans) {
      await rows(
        service,
        `INSERT INTO plans (la_code, nhs_number, plan_type, start_date, end_date, lac_legal_status, family_name, given_names, birth_date)
         VALUES ($1, $2, $3, $4, $5, $6, 'Generated', 'Test', $4)`,
        [org, p.nhsNumber, p.planType, p.birthDate, p.endDate, p.planType === 'LAC' ? 'S20' : null],
      );
    }
    const visible = plans.filter((p) => visibilityOf(p, today, WINDOWS) !== 'gone');
    expect(visible.length).toBeGreaterThan(20);
    expect(plans.length - visible.length).toBeGreaterThan(20);
    const summary = await run(service);
    expect(summary.plansPurged).toBe(plans.length - visible.length);
    const left = await rows<{ nhs_number: string }>(service, 'SELECT nhs_number FROM plans WHERE la_code = $1', [org]);
    expect(left.map((r) => r.nhs_number).sort()).toEqual(visible.map((p) => p.nhsNumber).sort());
  });
});

describe('notification and audit retention', () => {
  const clock = movableClock(new Date('2026-01-05T10:00:00Z'));
  const env = { ...MANUAL, NOTIFICATION_RETENTION_DAYS: '30', AUDIT_RETENTION_DAYS: '60' };
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ clock, env });
  });
  const verify = (checkpoint?: ReturnType<typeof checkpointOf>) => verifyAuditChains(service.composition.pool, { checkpoint, retentionDays: retentionOf(env) });
  /**
   * Lets days pass for the audit trails, whose recorded_at is the database's clock (migration 0013),
   * and brings the service's clock to the database's.
   */
  const elapse = async (days: number) => {
    await ageTrails(service.composition.pool, days);
    clock.set(new Date());
  };
  afterAll(async () => {
    await service?.stop();
  });

  it('drops acknowledged notifications past retention, keeps unacknowledged and newer ones, and numbering carries on', async () => {
    const child = childRecord();
    const la = await laWith(service, [child]);
    const ack = (eventNumbers: number[]) =>
      service.fetch('/la/v1/notifications/ack', { method: 'POST', token: la.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventNumbers }) });
    for (const sub of ['ret-dr-1', 'ret-dr-2', 'ret-dr-3']) await unscheduledLookup(service, child.nhsNumber as string, sub);
    expect(await (await ack([1, 2])).json()).toEqual({ acknowledged: [1, 2] });
    clock.advance(31 * DAY);
    await unscheduledLookup(service, child.nhsNumber as string, 'ret-dr-4');
    expect(await (await ack([4])).json()).toEqual({ acknowledged: [4] });

    expect(await run(service)).toEqual({ ran: true, ...NOTHING, notificationsPurged: 2 });
    const after = await mailbox(service, la.token);
    expect(eventNumbers(after.notifications)).toEqual([3, 4]);
    expect(after.lastEventNumber).toBe(4);
    expect(eventNumbers((await mailbox(service, la.token, 1)).notifications)).toEqual([3, 4]);

    // Replay starts at the oldest kept number, then the stream goes live with the next number.
    const stream = await openStream(service, { token: await laToken(service, la.org, 'social-worker'), after: 0 });
    await stream.waitFor((frames) => frames.filter((f) => f.type === 'notification').length === 2);
    await unscheduledLookup(service, child.nhsNumber as string, 'ret-dr-5');
    await stream.waitFor((frames) => frames.filter((f) => f.type === 'notification').length === 3);
    expect(stream.notifications().map((f) => f.notification.eventNumber)).toEqual([3, 4, 5]);
    stream.ws.close();

    // Thirty days after it was acknowledged, number 4 goes too; 3, never acknowledged, stays.
    clock.advance(31 * DAY);
    expect(await run(service)).toMatchObject({ notificationsPurged: 1 });
    expect(eventNumbers((await mailbox(service, la.token)).notifications)).toEqual([3, 5]);
    const audit = await rows<{ detail: Record<string, unknown> }>(service, `SELECT detail FROM audit_events WHERE action = 'retention:purge-notifications'`);
    expect(audit.map((a) => a.detail.notifications)).toEqual([2, 1]);
  });

  it('drops audit rows older than the audit retention and keeps newer ones', async () => {
    clock.set(new Date());
    const child = childRecord();
    await laWith(service, [child]);
    await unscheduledLookup(service, child.nhsNumber as string, 'audit-dr-old');
    await elapse(61);
    await unscheduledLookup(service, child.nhsNumber as string, 'audit-dr-new');
    const cutoff = new Date(clock.now().getTime() - 60 * DAY);
    const count = async (where: string) => (await rows<{ n: number }>(service, `SELECT count(*)::int AS n FROM audit_events WHERE ${where}`, [cutoff]))[0]?.n;
    const old = await count('recorded_at < $1');
    const recent = await count('recorded_at >= $1');
    expect(old).toBeGreaterThan(2);
    const before = await verify();
    expect(before).toMatchObject({ ok: true });

    const summary = await run(service);
    expect(summary.auditPurged).toBe(old);
    expect(await count('recorded_at < $1')).toBe(0);
    // Every newer row stays, and the purge itself is on the record, in the chain: what it removed, lane by lane.
    expect(await count(`recorded_at >= $1 AND action NOT LIKE 'retention:%'`)).toBe(recent);
    const purges = await rows<{ nhs_number: string | null; detail: Record<string, unknown> }>(
      service, `SELECT nhs_number, detail FROM audit_events WHERE action = 'retention:purge-audit'`,
    );
    expect(purges.reduce((sum, p) => sum + Number(p.detail.rowsRemoved), 0)).toBe(old);
    expect(Object.keys(purges[0]?.detail ?? {}).sort()).toEqual(['before', 'chain', 'cutoff', 'moves', 'retentionDays', 'rowsRemoved']);
    expect(purges.every((p) => p.nhs_number === null && p.detail.chain === 'audit' && p.detail.retentionDays === 60)).toBe(true);
    const mine = await rows(service, `SELECT 1 FROM audit_events WHERE nhs_number = $1 AND user_id = 'audit-dr-new'`, [child.nhsNumber]);
    expect(mine).toHaveLength(1);
    // What is left still verifies from the moved anchors, and against the checkpoint taken before the purge.
    expect(await verify()).toMatchObject({ ok: true });
    expect(await verify(checkpointOf(before))).toMatchObject({ ok: true, notes: [] });
  });

  it('purges nothing the database\'s clock says is younger than the retention period, whatever the service\'s clock says', async () => {
    const child = childRecord();
    await laWith(service, [child]);
    await unscheduledLookup(service, child.nhsNumber as string, 'audit-dr-ahead');
    await elapse(59);
    const kept = (await rows<{ n: number }>(service, `SELECT count(*)::int AS n FROM audit_events WHERE action NOT LIKE 'retention:%'`))[0]?.n;
    // A service clock a year ahead asks for every row before it - 60 days; the database cuts at its own time - 60 days.
    clock.advance(365 * DAY);
    expect((await run(service)).auditPurged).toBe(0);
    expect((await rows<{ n: number }>(service, `SELECT count(*)::int AS n FROM audit_events WHERE action NOT LIKE 'retention:%'`))[0]?.n).toBe(kept);
    clock.set(new Date());
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('keeps purging audit rows written before database time when a lane\'s clock stepped back, so no lane is stuck behind a newer row', async () => {
    clock.set(new Date());
    expect(await run(service)).toMatchObject({ ran: true, auditPurged: 0 });
    const now = clock.now().getTime();
    const at = (days: number, hours = 0) => new Date(now - days * DAY - hours * HOUR);
    // An empty lane, so that nothing newer sits in front of these rows, as an instance with a slow clock wrote them before migration 0013.
    const lane = (await rows<{ l: number }>(service, 'SELECT l FROM generate_series(0, 15) AS l WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE lane = l) LIMIT 1'))[0]?.l as number;
    await appendRowsOfServiceTime(service.composition.pool, lane, [at(60, 1), at(63), at(63), at(63)], 'test:skewed-clock');
    expect(await verify()).toMatchObject({ ok: true });
    // Batches of two would stop at the three older rows, behind the first: the span widens instead.
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, auditPurged: 4 });
    expect(await rows(service, `SELECT 1 FROM audit_events WHERE action = 'test:skewed-clock'`)).toEqual([]);
    expect(await verify()).toMatchObject({ ok: true });
  });
});

describe('searches that found no visible plan (not a register of all children)', () => {
  // The database's clock sets recorded_at (migration 0013): the service's keeps to it, and days pass for both trails.
  const clock = movableClock(new Date());
  const env = { ...MANUAL, UNMATCHED_SEARCH_RETENTION_DAYS: '30' };
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ clock, env });
  });
  afterAll(async () => {
    await service?.stop();
  });
  const verify = (checkpoint?: ReturnType<typeof checkpointOf>) => verifyAuditChains(service.composition.pool, { checkpoint, retentionDays: retentionOf(env) });
  const elapse = async (days: number) => {
    await ageTrails(service.composition.pool, days);
    clock.set(new Date());
  };

  const unmatched = (nhsNumber: string) => rows(service, 'SELECT outcome FROM unmatched_search_events WHERE nhs_number = $1 ORDER BY id', [nhsNumber]);
  /** What `npm run subject-access` exports of the person's unmatched searches. */
  async function exportedSearches(nhsNumber: string) {
    const outcome = await composeSubjectAccess(service.composition.pool, clock)({ nhsNumber, operator: 'dpo-retention' });
    if (!outcome.ok) throw new Error(outcome.rule);
    return outcome.export.unmatchedSearches.map((a) => [a.action, a.outcome, a.userId]);
  }

  it('are purged UNMATCHED_SEARCH_RETENTION_DAYS after they were made, oldest first, with a purge record of counts and hashes; found searches stay and both chains verify', async () => {
    const child = childRecord();
    await laWith(service, [child]);
    const held = child.nhsNumber as string;
    const [early, later, recent] = [syntheticNhsNumber(), syntheticNhsNumber(), syntheticNhsNumber()];
    const laSystem = await laToken(service, syntheticLaCode());
    const refusedSearch = async (nhs: string) => expect((await service.fetch(`/cpis/FHIR/R4/CareTeam?patient=${nhs}`, { token: laSystem })).status).toBe(403);

    // Day 0: the child is found twice (unscheduled, silent); a search for another child finds nothing; an LA
    // system is refused a search of each (the one naming the child with a plan is about that child: it stays).
    expect((await unscheduledLookup(service, held, 'unmatched-dr')).total).toBe(1);
    expect((await silentLookup(service, held)).total).toBe(1);
    expect((await unscheduledLookup(service, early, 'unmatched-dr')).total).toBe(0);
    await refusedSearch(early);
    await refusedSearch(held);
    await elapse(29);
    expect((await unscheduledLookup(service, later, 'unmatched-dr')).total).toBe(0);
    await elapse(2);
    expect((await unscheduledLookup(service, recent, 'unmatched-dr')).total).toBe(0);

    const lasting = () => rows(service, `SELECT id, action, outcome FROM audit_events WHERE nhs_number = $1 AND action LIKE 'search:%' ORDER BY id`, [held]);
    const kept = await lasting();
    expect(kept.map((r) => r.outcome)).toEqual(['found', 'found', 'denied']);
    expect(await exportedSearches(early)).toEqual([['search:CareTeam', 'not-found', 'unmatched-dr'], ['search:CareTeam', 'denied', 'la-system-user']]);

    // Day 31: the two of day 0 are past the period; day 29's is not.
    const checkpoint = checkpointOf(await verify());
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, unmatchedSearchesPurged: 2 });
    expect(await unmatched(early)).toEqual([]);
    expect(await unmatched(later)).toEqual([{ outcome: 'not-found' }]);
    expect(await unmatched(recent)).toEqual([{ outcome: 'not-found' }]);
    expect(await lasting()).toEqual(kept);
    expect(await exportedSearches(early)).toEqual([]);
    expect(await exportedSearches(later)).toEqual([['search:CareTeam', 'not-found', 'unmatched-dr']]);

    const purges = await rows<{ nhs_number: string | null; user_role: string; detail: Record<string, unknown> }>(
      service, `SELECT nhs_number, user_role, detail FROM audit_events WHERE action = 'retention:purge-unmatched-searches' ORDER BY id`,
    );
    expect(purges.length).toBeGreaterThanOrEqual(1);
    expect(purges.every((p) => p.nhs_number === null && p.user_role === 'system')).toBe(true);
    expect(purges.reduce((sum, p) => sum + Number(p.detail.rowsRemoved), 0)).toBe(2);
    expect(Object.keys(purges[0]?.detail ?? {}).sort()).toEqual(['before', 'chain', 'cutoff', 'moves', 'retentionDays', 'rowsRemoved']);
    expect(purges[0]?.detail).toMatchObject({ chain: 'unmatched-search', retentionDays: 30 });
    for (const nhs of [held, early, later, recent]) expect(JSON.stringify(purges)).not.toContain(nhs);
    expect(await verify()).toMatchObject({ ok: true, chains: { audit: { ok: true }, 'unmatched-search': { ok: true, rowsChecked: 2, purgeRecords: purges.length } } });
    expect(await verify(checkpoint)).toMatchObject({ ok: true });

    // Day 60: day 29's goes too; day 31's stays. Nothing else was due.
    await elapse(29);
    expect(await run(service)).toEqual({ ran: true, ...NOTHING, unmatchedSearchesPurged: 1 });
    expect(await unmatched(later)).toEqual([]);
    expect(await unmatched(recent)).toEqual([{ outcome: 'not-found' }]);
    expect(await lasting()).toEqual(kept);
    expect(await verify()).toMatchObject({ ok: true, chains: { 'unmatched-search': { ok: true, rowsChecked: 1 } } });
    const metrics = await (await service.fetch('/metrics')).text();
    expect(metrics).toMatch(/cpis_retention_rows_total\{kind="unmatched-searches"\} 3\b/);
    expect(service.logs.join('\n')).not.toMatch(new RegExp(`${early}|${later}|${recent}`));

    // The purge moved the anchors of the lanes it cut; they refuse any other move, and one altered by the owner is found, in that chain alone.
    expect((await rows<{ n: number }>(service, 'SELECT count(*)::int AS n FROM unmatched_search_chain_anchors WHERE seq > 0'))[0]?.n).toBeGreaterThan(0);
    await expect(rows(service, 'UPDATE unmatched_search_chain_anchors SET hash = sha256(hash) WHERE seq > 0')).rejects.toThrow(/anchors move only forward, through the retention purge/);
    await rows(service, `BEGIN; ALTER TABLE unmatched_search_chain_anchors DISABLE TRIGGER USER;
      UPDATE unmatched_search_chain_anchors SET hash = sha256(hash) WHERE seq > 0; ALTER TABLE unmatched_search_chain_anchors ENABLE TRIGGER USER; COMMIT`);
    const broken = await verify();
    expect(broken).toMatchObject({ ok: false, chains: { audit: { ok: true }, 'unmatched-search': { ok: false } } });
    const kind = broken.chains['unmatched-search'].ok ? undefined : broken.chains['unmatched-search'].break.kind;
    expect(['anchor-mismatch', 'head-mismatch']).toContain(kind);
  });
});

describe('with several instances on one database', () => {
  const clock = movableClock(new Date('2026-03-10T10:00:00Z'));
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    a = await startTestService({ clock, env: MANUAL });
    b = await startTestService({ clock, env: MANUAL, databaseUrl: a.databaseUrl, dataDir: a.dataDir });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('passes at the same moment end each plan once and notify once, with contiguous event numbers', async () => {
    const children = Array.from({ length: 7 }, (_, i) => childRecord({ birthDate: '2008-03-11', startDate: `2024-01-1${i}` }));
    const la = await laWith(a, children);
    clock.set(new Date('2026-03-11T10:00:00Z'));
    const passes = await Promise.all([run(a), run(b), run(a), run(b)]);
    expect(passes.some((p) => p.ran)).toBe(true);
    expect(passes.reduce((sum, p) => sum + p.endedOver18, 0)).toBe(7);
    expect(passes.reduce((sum, p) => sum + p.notified, 0)).toBe(7);
    const { notifications } = await mailbox(b, la.token);
    expect(eventNumbers(notifications)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(notifications.map((n: { subject: { nhsNumber: string } }) => n.subject.nhsNumber)).size).toBe(7);
    expect(await run(b)).toEqual({ ran: true, ...NOTHING });
    expect([...a.logs, ...b.logs].filter((l) => /"level":50/.test(l))).toEqual([]);
  });

  it('skips a pass while another instance holds the retention lock', async () => {
    const la = await laWith(a, [childRecord({ birthDate: '2008-03-12', startDate: '2024-01-10' })]);
    clock.set(new Date('2026-03-12T10:00:00Z'));
    const holder = new pg.Client({ connectionString: a.databaseUrl });
    await holder.connect();
    try {
      expect((await holder.query('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK])).rows[0].locked).toBe(true);
      expect(await run(a)).toEqual({ ran: false, ...NOTHING });
      expect((await mailbox(a, la.token)).notifications).toEqual([]);
      await holder.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      expect(await run(b)).toEqual({ ran: true, ...NOTHING, endedOver18: 1, notified: 1 });
    } finally {
      await holder.end();
    }
  });
});

describe('on its schedule', () => {
  it('runs at start-up and then every interval inside the service, and stops with it', async () => {
    const clock = movableClock(new Date('2026-03-10T10:00:00Z'));
    const first = await startTestService({ clock, env: MANUAL });
    try {
      const child = childRecord({ birthDate: '2008-03-11', startDate: '2024-01-10' });
      const la = await laWith(first, [child]);
      clock.set(new Date('2026-03-11T10:00:00Z'));
      const scheduled = await startTestService({ clock, env: { RETENTION_INTERVAL_SECONDS: '1' }, databaseUrl: first.databaseUrl, dataDir: first.dataDir });
      try {
        const told = async () => (await mailbox(first, la.token)).notifications.length;
        for (let i = 0; i < 100 && (await told()) === 0; i++) await sleep(50);
        expect(await told()).toBe(1);
        // Later passes of the schedule find nothing more to do.
        await sleep(2_500);
        expect(await told()).toBe(1);
        const passLog = scheduled.logs.find((l) => l.includes('retention pass'));
        expect(JSON.parse(passLog ?? '{}')).toMatchObject({ retention: { endedOver18: 1, notified: 1 } });
        expect(scheduled.logs.join('\n')).not.toContain(child.nhsNumber as string);
      } finally {
        await scheduled.stop();
      }
      expect(scheduled.logs.filter((l) => l.includes('retention pass failed'))).toEqual([]);
    } finally {
      await first.stop();
    }
  });
});
