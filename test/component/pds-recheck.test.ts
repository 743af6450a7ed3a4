import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { movableClock, type MovableClock } from '../support/clock.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import {
  allowNetwork, createPdsKeys, denyNetwork, living, mockTokenEndpoint, numbered, pdsEnv, pdsError, pdsFixture, pdsRead, PDS_TEST_DAY,
  type TokenEndpoint,
} from '../support/pds.ts';

const HOUR_MS = 3_600_000;
// The published Jane Smith under a synthetic number: alive for "current", as published (deceased) for "dead".
const confirmed = (nhsNumber: string) => living(numbered(pdsFixture('Patient'), nhsNumber));
const asPublished = (nhsNumber: string) => numbered(pdsFixture('Patient'), nhsNumber);
const record = (nhsNumber: string, extra: Record<string, unknown> = {}) =>
  childRecord({ nhsNumber, familyName: 'Smith', givenNames: 'Jane', birthDate: '2010-10-22', startDate: '2025-01-10', ...extra });

let keys: Awaited<ReturnType<typeof createPdsKeys>>;
let tokens: TokenEndpoint;
const tokenClock = movableClock(PDS_TEST_DAY);

beforeAll(async () => {
  denyNetwork();
  keys = await createPdsKeys();
  tokens = mockTokenEndpoint(keys.publicKey, tokenClock);
});
afterAll(() => {
  expect(tokens.problems).toEqual([]);
  allowNetwork();
});

const env = (extra: Record<string, string> = {}) => pdsEnv(keys.privateKeyFile, { PDS_RECHECK_INTERVAL_SECONDS: '3600', PDS_RECHECK_RATE_PER_SECOND: '100', ...extra });

/** Uploads the records for a fresh LA, PDS confirming each number, and returns the LA's token. */
async function holdFor(service: TestService, records: Record<string, unknown>[]): Promise<string> {
  for (const n of new Set(records.map((r) => r.nhsNumber as string))) pdsRead(n).reply(200, confirmed(n));
  const token = await laToken(service, syntheticLaCode());
  const res = await uploadJson(service, token, 1, records);
  expect(await res.json()).toMatchObject({ result: 'CPF02' });
  return token;
}

const recheck = (service: TestService) => (service.composition.recheckNhsNumbers as () => Promise<Record<string, unknown>>)();
const notificationsOf = async (service: TestService, token: string) => (await (await service.fetch('/la/v1/notifications?after=0', { token })).json()).notifications;

async function query<T extends pg.QueryResultRow>(service: TestService, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: service.databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Lets every held number fall due: one pass schedules new numbers an interval ahead, then time moves past it. */
async function makeDue(service: TestService, clock: MovableClock) {
  expect(await recheck(service)).toMatchObject({ claimed: 0 });
  clock.advance(HOUR_MS + 1_000);
}

describe('the inactive NHS number job', () => {
  let service: TestService;
  const clock = movableClock(PDS_TEST_DAY);
  beforeAll(async () => {
    service = await startTestService({ clock, env: env() });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('moves a superseded number\'s plans to the replacement, retires deceased and invalidated ones, tells each owning LA, and keeps current ones', async () => {
    const [merged, dead, invalid, current, replacement, dropped] = Array.from({ length: 6 }, () => syntheticNhsNumber());
    const la1 = await holdFor(service, [record(merged as string), record(dead as string), record(invalid as string), record(current as string), record(dropped as string)]);
    const la2 = await holdFor(service, [record(merged as string, { planType: 'LAC', lacLegalStatus: 'S20', startDate: '2025-03-01' })]);
    // A number no longer held is never asked about.
    expect((await uploadJson(service, la1, 2, [record(dropped as string, { deleteDate: '2025-06-01' })])).status).toBe(201);
    // An ED had seen the child under the old number: that attendance is part of the history that moves.
    const clinician = await clinicianToken(service);
    expect((await searchFor(service, clinician, 'CareTeam', merged as string)).total).toBe(2);
    await makeDue(service, clock);

    pdsRead(merged as string).reply(200, confirmed(replacement as string));
    pdsRead(dead as string).reply(200, asPublished(dead as string));
    pdsRead(invalid as string).reply(404, pdsError('INVALIDATED_RESOURCE'));
    pdsRead(current as string).reply(200, confirmed(current as string));
    expect(await recheck(service)).toEqual({ claimed: 4, current: 1, retired: 3, notified: 4, pdsUnavailable: false });
    expect(await query(service, 'SELECT 1 FROM pds_rechecks WHERE nhs_number = $1', [dropped])).toEqual([]);

    const mine = (await notificationsOf(service, la1)).filter((n: { type: string }) => n.type === 'inactive-nhs-number');
    // 1 was the ED's access under the old number.
    expect(mine.map((n: { eventNumber: number }) => n.eventNumber).sort()).toEqual([2, 3, 4]);
    const about = (nhs: string) => mine.find((n: { subject: { nhsNumber: string } }) => n.subject.nhsNumber === nhs);
    expect(about(merged as string)).toMatchObject({
      type: 'inactive-nhs-number', reason: 'superseded', replacementNhsNumber: replacement, moved: true, outOfHours: expect.any(Boolean),
      subject: { familyName: 'Smith', givenNames: 'Jane', birthDate: '2010-10-22' },
      plan: { type: 'CPP', startDate: '2025-01-10' }, plans: [{ type: 'CPP', startDate: '2025-01-10', status: 'active' }],
    });
    expect(about(dead as string)).toMatchObject({ reason: 'deceased', replacementNhsNumber: null, moved: false });
    expect(about(invalid as string)).toMatchObject({ reason: 'invalidated', replacementNhsNumber: null, moved: false });
    const theirs = await notificationsOf(service, la2);
    // The access under the old number was 1; the move is 2.
    expect(theirs.map((n: { eventNumber: number; type: string }) => [n.eventNumber, n.type])).toEqual([[1, 'access'], [2, 'inactive-nhs-number']]);
    expect(theirs[1]).toMatchObject({ reason: 'superseded', moved: true, plans: [{ type: 'LAC', startDate: '2025-03-01', status: 'active' }] });

    const plans = (await (await service.fetch('/la/v1/plans', { token: la1 })).json()).plans;
    expect(plans.map((p: { nhsNumber: string }) => p.nhsNumber).sort()).toEqual([current, replacement].sort());
    expect((await searchFor(service, clinician, 'CareTeam', merged as string)).total).toBe(0);
    // Served under the number an ED will trace, at once, with the history that came with it.
    expect((await searchFor(service, clinician, 'CareTeam', replacement as string)).total).toBe(2);
    expect((await searchFor(service, clinician, 'AuditEvent', replacement as string)).total).toBe(1);
    expect((await searchFor(service, clinician, 'CareTeam', current as string)).total).toBe(1);
    expect(await query(service, 'SELECT 1 FROM pds_rechecks WHERE nhs_number = $1', [replacement])).toHaveLength(1);

    const audit = await query<{ nhs_number: string; organisation_code: string }>(service, `SELECT nhs_number, organisation_code FROM audit_events WHERE action = 'pds:inactive-nhs-number'`);
    expect(audit).toHaveLength(4);
    expect(await recheck(service)).toMatchObject({ claimed: 0 });
    expect(nock.pendingMocks().filter((m) => !m.includes('oauth2'))).toEqual([]);
    expect(service.logs.join('\n')).not.toMatch(new RegExp(`${merged}|${replacement}|Smith`));
  });
});

describe('with several instances', () => {
  let a: TestService;
  let b: TestService;
  const clock = movableClock(PDS_TEST_DAY);
  beforeAll(async () => {
    a = await startTestService({ clock, env: env() });
    b = await startTestService({ clock, env: env(), databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('checks each due number once and notifies once, with contiguous event numbers', async () => {
    const numbers = Array.from({ length: 6 }, () => syntheticNhsNumber());
    const la = await holdFor(a, numbers.map((n) => record(n)));
    await makeDue(a, clock);
    for (const n of numbers) pdsRead(n).reply(404, pdsError('INVALIDATED_RESOURCE'));
    const passes = await Promise.all([recheck(a), recheck(b), recheck(a), recheck(b)]);
    expect(passes.reduce((sum, p) => sum + (p.claimed as number), 0)).toBe(6);
    expect(passes.reduce((sum, p) => sum + (p.retired as number), 0)).toBe(6);
    const events = (await notificationsOf(a, la)).map((n: { eventNumber: number }) => n.eventNumber);
    expect(events).toEqual([1, 2, 3, 4, 5, 6]);
    expect(nock.pendingMocks().filter((m) => !m.includes('oauth2'))).toEqual([]);
  });
});

describe('on its schedule', () => {
  it('runs by itself in the service, and stops with it', async () => {
    const clock = movableClock(PDS_TEST_DAY);
    const service = await startTestService({ clock, env: env({ PDS_RECHECK_POLL_SECONDS: '1' }) });
    try {
      const nhsNumber = syntheticNhsNumber();
      const la = await holdFor(service, [record(nhsNumber)]);
      await waitFor(async () => (await query(service, 'SELECT 1 FROM pds_rechecks WHERE nhs_number = $1 AND next_check_at IS NOT NULL', [nhsNumber])).length === 1);
      clock.advance(HOUR_MS + 1_000);
      pdsRead(nhsNumber).reply(200, asPublished(nhsNumber));
      await waitFor(async () => (await notificationsOf(service, la)).length === 1);
      expect((await notificationsOf(service, la))[0]).toMatchObject({ type: 'inactive-nhs-number', reason: 'deceased' });
      expect(service.logs.some((l) => l.includes('PDS re-check pass'))).toBe(true);
    } finally {
      const started = Date.now();
      await service.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the re-check job');
    await sleep(100);
  }
}
