import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization } from 'fhir/r4.d.ts';
import { childRecord, e164Of, syntheticLaCode, syntheticPhone } from '../support/synthetic.ts';
import { bareLaToken, startTestService, uploadJson, type JsonResponse, type TestService } from '../support/service.ts';
import { clinicianToken, includes, searchFor } from '../support/care-setting.ts';
import { movableClock } from '../support/clock.ts';
import { validateFhir } from '../support/fhir-schema.ts';

// Issue 11, items 2 and 3: numbers that ring, hours that hold. The clock is the service's own,
// moved by hand, so that Christmas Day is Christmas Day whatever day the suite runs.
const clock = movableClock(new Date('2026-12-02T10:00:00Z'));
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  // Compiles the FHIR validators before any connection is open: that blocks this process for
  // seconds, long enough for the service to drop an idle keep-alive connection fetch would then reuse.
  validateFhir({ resourceType: 'Bundle', type: 'searchset', entry: ['CareTeam', 'Patient', 'Organization', 'AuditEvent'].map((resourceType) => ({ resource: { resourceType } })) });
  service = await startTestService({ clock });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const WEEKDAYS_9_TO_5 = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, { opens: '09:00', closes: '17:00' }]));

const put = (token: string, body: unknown): Promise<JsonResponse> =>
  service.fetch('/la/v1/organisation', { method: 'PUT', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const get = async (token: string) => (await service.fetch('/la/v1/organisation', { token })).json();
const fieldsOf = (outcome: { issue: { expression?: string[] }[] }) => outcome.issue.flatMap((i) => i.expression ?? []);
const heldRow = async (org: string) => (await db.query('SELECT office_hours_phone, edt_phone, office_hours FROM organisations WHERE code = $1', [org])).rows[0];

/** A fresh LA with two fresh numbers and the given hours (the default when none). */
async function freshLa(officeHours?: unknown) {
  const org = syntheticLaCode();
  const token = await bareLaToken(service, org);
  const phones = { officeHoursPhone: syntheticPhone(), edtPhone: syntheticPhone() };
  const res = await put(token, { name: `${org} Council`, ...phones, ...(officeHours ? { officeHours } : {}) });
  expect(res.status).toBe(200);
  return { org, token, ...phones, answer: await res.json() };
}

describe('PUT /la/v1/organisation: numbers that ring', () => {
  it('takes UK numbers written any usual way, holds them in E.164 and answers both forms', async () => {
    const org = syntheticLaCode();
    const token = await bareLaToken(service, org);
    const res = await put(token, { name: 'Exampleshire', officeHoursPhone: '+44 (0)113 496 0000', edtPhone: '(0113) 496-0999' });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer).toMatchObject({
      code: org, name: 'Exampleshire', officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999',
      phones: { officeHours: { national: '0113 496 0000', e164: '+441134960000' }, edt: { national: '0113 496 0999', e164: '+441134960999' } },
    });
    expect(await get(token)).toEqual(answer);
    expect(await heldRow(org)).toMatchObject({ office_hours_phone: '+441134960000', edt_phone: '+441134960999' });
  });

  it('refuses a number that is not a valid UK number, naming the field and never echoing it, and changes nothing', async () => {
    const la = await freshLa();
    for (const [edtPhone, field] of [['01632 960999', 'edtPhone'], ['0161 496 09', 'edtPhone'], ['+33 1 23 45 67 89', 'edtPhone'], ['0113 496 0999 ext 2', 'edtPhone']] as const) {
      const res = await put(la.token, { name: 'Renamed', officeHoursPhone: la.officeHoursPhone, edtPhone });
      expect(res.status).toBe(400);
      const outcome = await res.json();
      expect(fieldsOf(outcome)).toContain(field);
      expect(outcome.issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
      const text = JSON.stringify(outcome);
      expect(text).not.toContain(edtPhone);
      expect(text).not.toContain(edtPhone.replace(/\D/g, ''));
    }
    expect(await get(la.token)).toMatchObject({ name: `${la.org} Council`, edtPhone: la.edtPhone });
  });

  it('cannot clear a phone: an empty or missing one is 400 and the numbers held stay', async () => {
    const la = await freshLa();
    for (const [body, field] of [
      [{ name: 'x', officeHoursPhone: la.officeHoursPhone, edtPhone: '' }, 'edtPhone'],
      [{ name: 'x', officeHoursPhone: la.officeHoursPhone }, 'edtPhone'],
      [{ name: 'x', officeHoursPhone: null, edtPhone: la.edtPhone }, 'officeHoursPhone'],
    ] as const) {
      const res = await put(la.token, body);
      expect(res.status).toBe(400);
      expect(fieldsOf(await res.json())).toContain(field);
    }
    expect(await heldRow(la.org)).toMatchObject({ office_hours_phone: e164Of(la.officeHoursPhone), edt_phone: e164Of(la.edtPhone) });
  });
});

describe('PUT /la/v1/organisation: hours that hold', () => {
  it('takes hours per day of the week, holding a missing day as closed', async () => {
    const la = await freshLa({ timeZone: 'Europe/London', days: { ...WEEKDAYS_9_TO_5, fri: { opens: '09:00', closes: '16:30' }, sat: { opens: '10:00', closes: '14:00' } } });
    expect(la.answer.officeHours).toEqual({
      timeZone: 'Europe/London',
      days: { ...WEEKDAYS_9_TO_5, fri: { opens: '09:00', closes: '16:30' }, sat: { opens: '10:00', closes: '14:00' }, sun: null },
    });
    expect(Object.keys((await get(la.token)).officeHours.days)).toEqual(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
  });

  it('takes "staffed 24/7"', async () => {
    const la = await freshLa({ timeZone: 'Europe/London', staffed: '24/7' });
    expect(la.answer.officeHours).toEqual({ timeZone: 'Europe/London', staffed: '24/7' });
  });

  it('refuses opens at or after closes, naming the day, and changes nothing', async () => {
    const la = await freshLa();
    const res = await put(la.token, {
      name: 'x', officeHoursPhone: la.officeHoursPhone, edtPhone: la.edtPhone,
      officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '17:00', closes: '09:00' }, tue: { opens: '09:00', closes: '09:00' }, wed: { opens: '09:00', closes: '17:00' } } },
    });
    expect(res.status).toBe(400);
    const outcome = await res.json();
    expect(fieldsOf(outcome)).toEqual(['officeHours.days.mon.opens', 'officeHours.days.mon.closes', 'officeHours.days.tue.opens', 'officeHours.days.tue.closes']);
    expect(outcome.issue.map((i: { details: { coding: { code: string }[] } }) => i.details.coding[0]?.code)).toEqual(['VALIDATION_ERROR', 'VALIDATION_ERROR']);
    const legacy = await put(la.token, { name: 'x', officeHoursPhone: la.officeHoursPhone, edtPhone: la.edtPhone, officeHours: { timeZone: 'Europe/London', days: ['mon'], opens: '17:00', closes: '09:00' } });
    expect(legacy.status).toBe(400);
    expect(fieldsOf(await legacy.json())).toEqual(['officeHours.opens', 'officeHours.closes']);
    expect((await get(la.token)).officeHours).toEqual(la.answer.officeHours);
  });

  it('still takes the old shape, and holds it per day', async () => {
    const la = await freshLa({ timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '08:30', closes: '17:30' });
    const days = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, { opens: '08:30', closes: '17:30' }]));
    expect(la.answer.officeHours).toEqual({ timeZone: 'Europe/London', days: { ...days, sat: null, sun: null } });
    expect((await heldRow(la.org)).office_hours).toEqual({ timeZone: 'Europe/London', days: { ...days, sat: null, sun: null } });
  });
});

/**
 * At `at`, a clinician looks up a child of the LA: what the FHIR Organization ranks first, whether
 * the LA's notification is out of hours, and what GET /la/v1/organisation says now.
 */
async function whoAnswersAt(at: string, officeHours?: unknown) {
  const la = await freshLa(officeHours);
  const child = childRecord();
  expect((await uploadJson(service, la.token, 1, [child])).status).toBe(201);
  clock.set(new Date(at));
  const bundle = await searchFor(service, await clinicianToken(service, { sub: `dr-${la.org}` }), 'CareTeam', child.nhsNumber as string);
  expect(validateFhir(bundle)).toEqual([]);
  const organization = includes(bundle).find((r) => r.resourceType === 'Organization') as Organization;
  const first = organization.telecom?.find((t) => t.rank === 1);
  const firstPurpose = organization.contact?.find((c) => c.telecom?.[0]?.rank === 1)?.purpose?.coding?.[0]?.code;
  const { notifications } = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
  expect(notifications).toHaveLength(1);
  return { la, first, firstPurpose, outOfHours: notifications[0].outOfHours as boolean, now: (await get(la.token)).now };
}

describe('one rule for which number first: the FHIR rank, the notification and the organisation\'s `now`', () => {
  it('puts the EDT first on Christmas Day at 10:00, a Friday, until the office opens after the Boxing Day substitute', async () => {
    const seen = await whoAnswersAt('2026-12-25T10:00:00Z');
    expect(seen.firstPurpose).toBe('out-of-hours');
    expect(seen.first).toMatchObject({ system: 'phone', value: seen.la.edtPhone, rank: 1 });
    expect(seen.first?.extension).toEqual([{ url: 'https://fhir.cpis.example/StructureDefinition/phone-e164', valueString: e164Of(seen.la.edtPhone) }]);
    expect(seen.outOfHours).toBe(true);
    expect(seen.now).toEqual({
      at: '2026-12-25T10:00:00.000Z', outOfHours: true, callFirst: 'out-of-hours', reason: 'bank-holiday', bankHoliday: 'Christmas Day',
      until: '2026-12-29T09:00:00.000Z',
    });
  });

  it('puts the EDT first on a substitute bank holiday, Tuesday 28 December 2027, at 10:00', async () => {
    const seen = await whoAnswersAt('2027-12-28T10:00:00Z');
    expect(seen.firstPurpose).toBe('out-of-hours');
    expect(seen.first?.value).toBe(seen.la.edtPhone);
    expect(seen.outOfHours).toBe(true);
    expect(seen.now).toMatchObject({ outOfHours: true, callFirst: 'out-of-hours', reason: 'bank-holiday', bankHoliday: 'Boxing Day (substitute day)', until: '2027-12-29T09:00:00.000Z' });
  });

  it('puts the office first on an ordinary weekday at 10:00, until it closes', async () => {
    const seen = await whoAnswersAt('2026-12-02T10:00:00Z');
    expect(seen.firstPurpose).toBe('office-hours');
    expect(seen.first?.value).toBe(seen.la.officeHoursPhone);
    expect(seen.outOfHours).toBe(false);
    expect(seen.now).toEqual({ at: '2026-12-02T10:00:00.000Z', outOfHours: false, callFirst: 'office-hours', reason: 'open', bankHoliday: null, until: '2026-12-02T17:00:00.000Z' });
  });

  it('keeps per-day hours: a Saturday office open 10:00–14:00 answers at 11:00 and not at 15:00', async () => {
    const hours = { timeZone: 'Europe/London', days: { ...WEEKDAYS_9_TO_5, sat: { opens: '10:00', closes: '14:00' } } };
    const open = await whoAnswersAt('2026-12-05T11:00:00Z', hours);
    expect([open.firstPurpose, open.outOfHours, open.now.until]).toEqual(['office-hours', false, '2026-12-05T14:00:00.000Z']);
    const shut = await whoAnswersAt('2026-12-05T15:00:00Z', hours);
    expect([shut.firstPurpose, shut.outOfHours, shut.now.reason, shut.now.until]).toEqual(['out-of-hours', true, 'after-closing', '2026-12-07T09:00:00.000Z']);
  });

  it('never goes out of hours for an office staffed 24/7, bank holidays and nights included', async () => {
    for (const at of ['2026-12-25T10:00:00Z', '2027-12-28T03:00:00Z']) {
      const seen = await whoAnswersAt(at, { timeZone: 'Europe/London', staffed: '24/7' });
      expect([seen.firstPurpose, seen.outOfHours]).toEqual(['office-hours', false]);
      expect(seen.now).toMatchObject({ outOfHours: false, callFirst: 'office-hours', reason: 'staffed-24/7', until: null });
    }
  });
});
