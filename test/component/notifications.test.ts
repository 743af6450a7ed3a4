import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, CareTeam } from 'fhir/r4.d.ts';
import { childRecord, syntheticLaCode, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, matches, searchFor } from '../support/care-setting.ts';
import { HOUR, movableClock } from '../support/clock.ts';
import { addDays, addYears } from '../../src/domain/dates.ts';

const clock = movableClock();
let service: TestService;
let seq = 0;
beforeAll(async () => {
  service = await startTestService({ clock });
});
afterAll(async () => {
  await service?.stop();
});

async function laWith(records: Record<string, unknown>[], officeHours?: object) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: `${org} Council`, officeHoursPhone: '020 7946 0000', edtPhone: '020 7946 0999', ...(officeHours ? { officeHours } : {}) }),
  });
  expect(put.status).toBe(200);
  if (records.length) expect((await (await uploadJson(service, token, ++seq, records)).json()).rejected).toBe(0);
  return { org, token };
}

const mailboxOf = async (token: string, query = '') => (await service.fetch(`/la/v1/notifications${query}`, { token })).json();

describe('24-hour de-duplication (injected clock)', () => {
  it('shows repeat views by the same user once and notifies once; a new day or another user counts again', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const la = await laWith([record]);
    const drA = await clinicianToken(service, { sub: 'dedupe-a' });
    const drB = await clinicianToken(service, { sub: 'dedupe-b' });
    await searchFor(service, drA, 'CareTeam', nhs);
    clock.advance(HOUR);
    await searchFor(service, drA, 'Flag', nhs);
    clock.advance(22 * HOUR);
    await searchFor(service, drA, 'CareTeam', nhs);
    expect((await mailboxOf(la.token)).notifications).toHaveLength(1);
    await searchFor(service, drB, 'CareTeam', nhs);
    clock.advance(2 * HOUR); // 25 hours after dr A's first view
    await searchFor(service, drA, 'CareTeam', nhs);
    const { notifications } = await mailboxOf(la.token);
    expect(notifications.map((n: { eventNumber: number; accessedBy: { userId: string } }) => [n.eventNumber, n.accessedBy.userId])).toEqual([
      [1, 'dedupe-a'],
      [2, 'dedupe-b'],
      [3, 'dedupe-a'],
    ]);
    const history = await searchFor(service, drA, 'AuditEvent', nhs);
    expect(history.total).toBe(3);
    const recorded = (matches(history) as AuditEvent[]).map((a) => a.recorded);
    expect([...recorded].sort().reverse()).toEqual(recorded);
  });

  it('counts the same user at another organisation or setting within 24 hours as a new attendance: notified and in the history', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const la = await laWith([record]);
    const atEd = await clinicianToken(service, { sub: 'roaming-dr', org: 'RXX01', setting: 'emergency-department' });
    const atWard = await clinicianToken(service, { sub: 'roaming-dr', org: 'RXX01', setting: 'paediatric-ward' });
    const elsewhere = await clinicianToken(service, { sub: 'roaming-dr', org: 'RYY02', setting: 'emergency-department' });
    await searchFor(service, atEd, 'CareTeam', nhs);
    clock.advance(HOUR);
    await searchFor(service, elsewhere, 'CareTeam', nhs);
    clock.advance(HOUR);
    await searchFor(service, atWard, 'Flag', nhs);
    clock.advance(HOUR);
    await searchFor(service, atEd, 'CareTeam', nhs); // a repeat: same user, organisation and setting
    const { notifications } = await mailboxOf(la.token);
    expect(notifications.map((n: { accessedBy: { organisationCode: string; setting: string } }) => [n.accessedBy.organisationCode, n.accessedBy.setting])).toEqual([
      ['RXX01', 'emergency-department'],
      ['RYY02', 'emergency-department'],
      ['RXX01', 'paediatric-ward'],
    ]);
    const history = matches(await searchFor(service, atEd, 'AuditEvent', nhs)) as AuditEvent[];
    expect(history).toHaveLength(3);
  });

  it('names who looked in the LA\'s terms: SDS user id, role profile and national job role, when the token carries them', async () => {
    const record = childRecord();
    const nhs = record.nhsNumber as string;
    const la = await laWith([record]);
    const dr = await service.token({
      role: 'clinician', sub: 'cis2-dr', name: 'Dr Sam Registrar', org: 'RXX01', org_name: 'Example General Hospital', setting: 'emergency-department',
      activities: ['B0107'], sds_user_id: '555021935107', sds_role_profile_id: '555021936108', job_role_code: 'S8000:G8000:R8000', job_role_name: 'Clinical Practitioner Access Role',
    });
    await searchFor(service, dr, 'CareTeam', nhs);
    const [notification] = (await mailboxOf(la.token)).notifications;
    expect(notification.accessedBy).toEqual({
      name: 'Dr Sam Registrar', userId: 'cis2-dr', role: 'clinician', sdsUserId: '555021935107', sdsRoleProfileId: '555021936108',
      jobRole: { code: 'R8000', name: 'Clinical Practitioner Access Role' },
      organisationCode: 'RXX01', organisationName: 'Example General Hospital', setting: 'emergency-department',
    });
    const [event] = matches(await searchFor(service, dr, 'AuditEvent', nhs)) as AuditEvent[];
    expect(event?.agent[0]?.who?.identifier).toEqual({ system: 'https://fhir.nhs.uk/Id/sds-user-id', value: '555021935107' });
    expect(event?.agent[0]?.role?.[0]?.coding?.[0]?.code).toBe('R8000');
    const audit = await service.composition.pool.query<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_events WHERE nhs_number = $1 AND action = 'search:CareTeam'`, [nhs],
    );
    expect(audit.rows[0]?.detail).toEqual({ sdsUserId: '555021935107', sdsRoleProfileId: '555021936108', jobRoleCode: 'R8000' });
  });

  it('ends a plan on the subject\'s 18th birthday: inactive afterwards, inside the window', async () => {
    const birthDate = addDays(addYears(yearsAgo(0), -18), 5); // turns 18 in five days
    const record = childRecord({ birthDate, startDate: yearsAgo(2) });
    await laWith([record]);
    const token = await clinicianToken(service, { sub: 'dr-18' });
    const statusNow = (matches(await searchFor(service, token, 'CareTeam', record.nhsNumber as string)) as CareTeam[])[0]?.status;
    expect(statusNow).toBe('active');
    const saved = clock.now();
    clock.advance(30 * 24 * HOUR);
    const later = (matches(await searchFor(service, token, 'CareTeam', record.nhsNumber as string)) as CareTeam[])[0];
    clock.set(saved);
    expect(later?.status).toBe('inactive');
    expect(later?.period?.end).toBe(addYears(birthDate, 18));
  });

  it('returns the 25 most recent accesses, newest first', async () => {
    const record = childRecord();
    await laWith([record]);
    for (let i = 0; i < 30; i++) {
      clock.advance(60_000);
      await searchFor(service, await clinicianToken(service, { sub: `viewer-${i}` }), 'CareTeam', record.nhsNumber as string);
    }
    const history = await searchFor(service, await clinicianToken(service, { sub: 'viewer-0' }), 'AuditEvent', record.nhsNumber as string);
    const events = matches(history) as AuditEvent[];
    expect(events).toHaveLength(25);
    expect(JSON.stringify(events[0])).toContain('viewer-29');
    expect(JSON.stringify(events[24])).toContain('viewer-5');
  });
});

describe('the LA wall and the mailbox', () => {
  it('tells each owning LA only of its own plans, and no other LA', async () => {
    const record = childRecord();
    const home = await laWith([record]);
    const placing = await laWith([{ ...record, planType: 'LAC', lacLegalStatus: 'S31' }]);
    const bystander = await laWith([childRecord()]);
    await searchFor(service, await clinicianToken(service, { sub: 'wall-dr' }), 'CareTeam', record.nhsNumber as string);
    const homeBox = await mailboxOf(home.token);
    const placingBox = await mailboxOf(placing.token);
    expect(homeBox.notifications).toHaveLength(1);
    expect(homeBox.notifications[0].plans).toEqual([expect.objectContaining({ type: 'CPP' })]);
    expect(placingBox.notifications).toHaveLength(1);
    expect(placingBox.notifications[0].plans).toEqual([expect.objectContaining({ type: 'LAC' })]);
    expect((await mailboxOf(bystander.token)).notifications).toEqual([]);
    // A bystander's acknowledgement touches nothing of another LA's.
    const ack = await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: bystander.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ upTo: 10 }) });
    expect(await ack.json()).toEqual({ acknowledged: [] });
    expect((await mailboxOf(home.token)).notifications[0].acknowledgedAt).toBeNull();
  });

  it('pages after an event number and records who acknowledged what, and when', async () => {
    const records = [childRecord(), childRecord(), childRecord()];
    const la = await laWith(records);
    const dr = await clinicianToken(service, { sub: 'page-dr' });
    for (const r of records) await searchFor(service, dr, 'CareTeam', r.nhsNumber as string);
    const page = await mailboxOf(la.token, '?after=1&limit=1');
    expect(page.notifications.map((n: { eventNumber: number }) => n.eventNumber)).toEqual([2]);
    expect(page.lastEventNumber).toBe(3);
    const worker = await service.token({ role: 'social-worker', org: la.org, sub: 'sw-duty-1', name: 'Duty Worker' });
    const post = (body: unknown) => service.fetch('/la/v1/notifications/ack', { method: 'POST', token: worker, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await (await post({ eventNumbers: [2] })).json()).toEqual({ acknowledged: [2] });
    expect(await (await post({ upTo: 3 })).json()).toEqual({ acknowledged: [1, 3] });
    const all = (await mailboxOf(worker)).notifications;
    for (const n of all) expect(n).toMatchObject({ acknowledgedBy: 'sw-duty-1', acknowledgedAt: clock.now().toISOString() });
    const bad = await post({ upTo: 'all', extra: 1 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    const clinician = await service.fetch('/la/v1/notifications', { token: dr });
    expect(clinician.status).toBe(403);
  });

  it('refuses an acknowledgement in another content type, or in none, with 415 and marks nothing', async () => {
    const la = await laWith([childRecord()]);
    const dr = await clinicianToken(service, { sub: 'media-type-dr' });
    const worker = await service.token({ role: 'social-worker', org: la.org, sub: 'sw-media-type', name: 'Duty Worker' });
    await searchFor(service, dr, 'CareTeam', ((await (await service.fetch('/la/v1/plans', { token: la.token })).json()).plans[0].nhsNumber));
    const body = JSON.stringify({ upTo: 1 });
    const sends: [string, RequestInit][] = [
      ...['text/plain', 'application/fhir+json', 'application/x-www-form-urlencoded'].map((type): [string, RequestInit] => [type, { body, headers: { 'content-type': type } }]),
      ['(none)', { body: Buffer.from(body) }],
    ];
    for (const [type, init] of sends) {
      const res = await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: worker, ...init });
      expect(res.status, type).toBe(415);
      const outcome = await res.json();
      expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported', diagnostics: 'Content-Type must be application/json' }] });
      expect(outcome.issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    }
    expect((await mailboxOf(worker)).notifications.map((n: { acknowledgedAt: string | null }) => n.acknowledgedAt)).toEqual([null]);
    expect((await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: worker })).status).toBe(415);
    expect((await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: worker, body: '', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const ok = await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: worker, body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(await ok.json()).toEqual({ acknowledged: [1] });
  });

  it('marks notifications out of hours from the LA\'s office hours', async () => {
    const always = { timeZone: 'Europe/London', staffed: '24/7' };
    const never = { timeZone: 'Europe/London', days: {} };
    const a = childRecord();
    const b = childRecord();
    const open = await laWith([a], always);
    const closed = await laWith([b], never);
    const saved = clock.now();
    clock.set(new Date('2026-03-11T12:00:00Z'));
    const dr = await clinicianToken(service, { sub: 'ooh-dr' });
    await searchFor(service, dr, 'CareTeam', a.nhsNumber as string);
    await searchFor(service, dr, 'CareTeam', b.nhsNumber as string);
    clock.set(saved);
    expect((await mailboxOf(open.token)).notifications[0].outOfHours).toBe(false);
    expect((await mailboxOf(closed.token)).notifications[0].outOfHours).toBe(true);
  });
});

describe('event numbers under concurrency', () => {
  it('stay contiguous per LA with 60 simultaneous lookups over two instances', async () => {
    const second = await startTestService({ clock, databaseUrl: service.databaseUrl, dataDir: service.dataDir });
    try {
      const las = await Promise.all([0, 1, 2, 3].map(() => laWith(Array.from({ length: 15 }, () => childRecord()))));
      const children = await Promise.all(las.map(async (la) => (await (await service.fetch('/la/v1/plans?limit=100', { token: la.token })).json()).plans as { nhsNumber: string }[]));
      const lookups = children.flatMap((plans, i) =>
        plans.map(async (p, j) => {
          const target = (i + j) % 2 === 0 ? service : second;
          const token = await clinicianToken(target, { sub: `burst-${i}-${j}` });
          return searchFor(target, token, j % 2 ? 'Flag' : 'CareTeam', p.nhsNumber);
        }),
      );
      expect(lookups).toHaveLength(60);
      const bundles = await Promise.all(lookups);
      for (const b of bundles) expect(b.total).toBe(1);
      for (const la of las) {
        const { notifications, lastEventNumber } = await mailboxOf(la.token, '?limit=1000');
        expect(notifications.map((n: { eventNumber: number }) => n.eventNumber)).toEqual(Array.from({ length: 15 }, (_, k) => k + 1));
        expect(lastEventNumber).toBe(15);
      }
    } finally {
      await second.stop();
    }
  });
});
