import { describe, expect, it } from 'vitest';
import { contactNow, nextChangeAfter } from '../../src/domain/contact-now.ts';
import { DEFAULT_OFFICE_HOURS, officeHoursFrom, type OfficeHours, type OfficeHoursInput } from '../../src/domain/office-hours.ts';

const weekdays = { officeHours: DEFAULT_OFFICE_HOURS };
const hoursOf = (input: OfficeHoursInput): { officeHours: OfficeHours } => {
  const made = officeHoursFrom(input);
  if (!made.ok) throw new Error(JSON.stringify(made.problems));
  return { officeHours: made.hours };
};
const at = (iso: string) => new Date(iso);
const until = (org: { officeHours: OfficeHours }, iso: string) => nextChangeAfter(org, at(iso))?.toISOString() ?? null;

describe('contactNow: which number answers (Europe/London wall time)', () => {
  it('is the office on a weekday in its hours, and the EDT before, after and at weekends, in winter and in summer time', () => {
    expect(contactNow(weekdays, at('2026-12-02T10:00:00Z'))).toEqual({ outOfHours: false, callFirst: 'office-hours', reason: 'open', bankHoliday: null });
    expect(contactNow(weekdays, at('2026-12-02T02:00:00Z'))).toMatchObject({ outOfHours: true, callFirst: 'out-of-hours', reason: 'before-opening' });
    expect(contactNow(weekdays, at('2026-12-05T12:00:00Z'))).toMatchObject({ outOfHours: true, reason: 'closed-today' });
    // 16:30 UTC in July is 17:30 BST: closed; 15:30 UTC is 16:30 BST: open.
    expect(contactNow(weekdays, at('2026-07-15T16:30:00Z'))).toMatchObject({ outOfHours: true, reason: 'after-closing' });
    expect(contactNow(weekdays, at('2026-07-15T15:30:00Z')).outOfHours).toBe(false);
  });

  it('opens at the opening minute and closes at the closing minute', () => {
    expect(contactNow(weekdays, at('2026-01-14T08:59:59Z')).outOfHours).toBe(true);
    expect(contactNow(weekdays, at('2026-01-14T09:00:00Z')).outOfHours).toBe(false);
    expect(contactNow(weekdays, at('2026-01-14T16:59:59Z')).outOfHours).toBe(false);
    expect(contactNow(weekdays, at('2026-01-14T17:00:00Z')).outOfHours).toBe(true);
  });

  it('is the EDT all day on an England and Wales bank holiday, substitute days included', () => {
    expect(contactNow(weekdays, at('2026-12-25T10:00:00Z'))).toEqual({ outOfHours: true, callFirst: 'out-of-hours', reason: 'bank-holiday', bankHoliday: 'Christmas Day' });
    expect(contactNow(weekdays, at('2026-12-28T10:00:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Boxing Day (substitute day)' });
    expect(contactNow(weekdays, at('2027-12-27T10:00:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Christmas Day (substitute day)' });
    expect(contactNow(weekdays, at('2027-12-28T10:00:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Boxing Day (substitute day)' });
    expect(contactNow(weekdays, at('2027-03-26T10:00:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Good Friday' });
    // Easter Monday 2027 is the day after the clocks go forward: 10:00 BST is 09:00 UTC.
    expect(contactNow(weekdays, at('2027-03-29T09:00:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Easter Monday' });
    // The holiday is the London date: 23:30 UTC on Sunday 30 May 2027 is 00:30 BST on the spring bank holiday.
    const allDay = hoursOf({ timeZone: 'Europe/London', days: { sun: { opens: '00:00', closes: '23:59' }, mon: { opens: '00:00', closes: '23:59' } } });
    expect(contactNow(allDay, at('2027-05-30T22:30:00Z')).reason).toBe('open');
    expect(contactNow(allDay, at('2027-05-30T23:30:00Z'))).toMatchObject({ outOfHours: true, bankHoliday: 'Spring bank holiday' });
  });

  it('keeps hours per day of the week', () => {
    const saturdays = hoursOf({ timeZone: 'Europe/London', days: { mon: { opens: '08:30', closes: '17:30' }, sat: { opens: '10:00', closes: '14:00' } } });
    expect(contactNow(saturdays, at('2026-12-05T09:59:00Z'))).toMatchObject({ outOfHours: true, reason: 'before-opening' });
    expect(contactNow(saturdays, at('2026-12-05T10:00:00Z'))).toMatchObject({ outOfHours: false, reason: 'open' });
    expect(contactNow(saturdays, at('2026-12-05T14:00:00Z'))).toMatchObject({ outOfHours: true, reason: 'after-closing' });
    expect(contactNow(saturdays, at('2026-12-06T11:00:00Z'))).toMatchObject({ outOfHours: true, reason: 'closed-today' });
    expect(contactNow(saturdays, at('2026-12-07T08:30:00Z')).outOfHours).toBe(false);
    expect(contactNow(saturdays, at('2026-12-08T10:00:00Z'))).toMatchObject({ outOfHours: true, reason: 'closed-today' });
  });

  it('never goes out of hours for an office staffed 24/7, bank holidays included', () => {
    const always = hoursOf({ timeZone: 'Europe/London', staffed: '24/7' });
    for (const iso of ['2026-12-25T10:00:00Z', '2027-12-28T03:00:00Z', '2026-12-05T23:59:00Z', '2027-03-28T01:30:00Z']) {
      expect(contactNow(always, at(iso))).toEqual({ outOfHours: false, callFirst: 'office-hours', reason: 'staffed-24/7', bankHoliday: null });
    }
    expect(nextChangeAfter(always, at('2026-12-25T10:00:00Z'))).toBeNull();
  });

  it('calls the EDT always when no day has hours, and says it will not change', () => {
    const never = hoursOf({ timeZone: 'Europe/London', days: {} });
    expect(contactNow(never, at('2026-12-02T10:00:00Z'))).toMatchObject({ outOfHours: true, reason: 'closed-today' });
    expect(nextChangeAfter(never, at('2026-12-02T10:00:00Z'))).toBeNull();
  });
});

describe('nextChangeAfter: when the answer changes', () => {
  it('is the closing time today, then the next opening past weekends and bank holidays', () => {
    expect(until(weekdays, '2026-12-02T10:00:00Z')).toBe('2026-12-02T17:00:00.000Z');
    expect(until(weekdays, '2026-12-04T18:00:00Z')).toBe('2026-12-07T09:00:00.000Z');
    // Christmas Day (Friday), Saturday, Sunday, the Boxing Day substitute (Monday): the office opens on Tuesday.
    expect(until(weekdays, '2026-12-25T10:00:00Z')).toBe('2026-12-29T09:00:00.000Z');
    expect(until(weekdays, '2027-12-28T10:00:00Z')).toBe('2027-12-29T09:00:00.000Z');
  });

  it('follows the clocks forward on the last Sunday of March and back on the last Sunday of October', () => {
    const sundays = hoursOf({ timeZone: 'Europe/London', days: { sun: { opens: '09:00', closes: '17:00' }, mon: { opens: '09:00', closes: '17:00' } } });
    // Sunday 28 March 2027: 09:00 BST is 08:00 UTC; 08:59 BST is still closed.
    expect(until(sundays, '2027-03-27T12:00:00Z')).toBe('2027-03-28T08:00:00.000Z');
    expect(contactNow(sundays, at('2027-03-28T07:59:00Z')).outOfHours).toBe(true);
    expect(until(sundays, '2027-03-28T10:00:00Z')).toBe('2027-03-28T16:00:00.000Z');
    // The next day is Easter Monday: the office opens a week later.
    expect(until(sundays, '2027-03-28T16:00:00Z')).toBe('2027-04-04T08:00:00.000Z');
    // Sunday 25 October 2026: the clocks went back at 01:00 UTC, so 09:00 is GMT again.
    expect(until(sundays, '2026-10-24T12:00:00Z')).toBe('2026-10-25T09:00:00.000Z');
    expect(until(weekdays, '2026-10-23T16:30:00Z')).toBe('2026-10-26T09:00:00.000Z');
    expect(contactNow(weekdays, at('2026-10-23T15:59:00Z')).outOfHours).toBe(false); // 16:59 BST
  });

  it('is exact when an opening falls in the hour the clocks skip or repeat', () => {
    const small = hoursOf({ timeZone: 'Europe/London', days: { sun: { opens: '01:30', closes: '03:00' } } });
    // 29 March 2026: 00:59 GMT is followed by 02:00 BST, past 01:30: open from 01:00 UTC.
    expect(until(small, '2026-03-29T00:30:00Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(until(small, '2026-03-29T01:00:00Z')).toBe('2026-03-29T02:00:00.000Z');
    // 25 October 2026: 01:30 BST (00:30 UTC) opens; at 01:00 UTC the wall clock is back to 01:00 GMT, before opening.
    expect(until(small, '2026-10-25T00:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(until(small, '2026-10-25T00:30:00Z')).toBe('2026-10-25T01:00:00.000Z');
    expect(until(small, '2026-10-25T01:00:00Z')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('agrees minute by minute with contactNow up to the change it names', () => {
    const cases: [{ officeHours: OfficeHours }, string][] = [
      [weekdays, '2026-12-24T15:07:30Z'],
      [weekdays, '2027-03-26T08:00:00Z'],
      [hoursOf({ timeZone: 'Europe/London', days: { sat: { opens: '10:00', closes: '14:00' }, sun: { opens: '00:00', closes: '01:45' } } }), '2026-10-24T13:00:00Z'],
      [hoursOf({ timeZone: 'Europe/London', days: { sun: { opens: '00:30', closes: '02:30' } } }), '2027-03-27T22:00:00Z'],
    ];
    for (const [org, start] of cases) {
      let from = at(start);
      for (let change = 0; change < 4; change++) {
        const next = nextChangeAfter(org, from) as Date;
        const state = contactNow(org, from).outOfHours;
        for (let t = from.getTime(); t < next.getTime(); t += 60_000) expect(contactNow(org, new Date(t)).outOfHours).toBe(state);
        expect(contactNow(org, next).outOfHours).toBe(!state);
        from = next;
      }
    }
  });
});

describe('officeHoursFrom: what an LA may say', () => {
  it('holds every day, a missing day as closed', () => {
    expect(officeHoursFrom({ timeZone: 'Europe/London', days: { sat: { opens: '10:00', closes: '14:00' } } })).toEqual({
      ok: true,
      hours: { timeZone: 'Europe/London', days: { mon: null, tue: null, wed: null, thu: null, fri: null, sat: { opens: '10:00', closes: '14:00' }, sun: null } },
    });
  });

  it('converts the legacy shape (the same hours on each listed day)', () => {
    const made = officeHoursFrom({ timeZone: 'Europe/London', days: ['mon', 'wed'], opens: '08:30', closes: '17:30' });
    expect(made).toEqual({
      ok: true,
      hours: { timeZone: 'Europe/London', days: { mon: { opens: '08:30', closes: '17:30' }, tue: null, wed: { opens: '08:30', closes: '17:30' }, thu: null, fri: null, sat: null, sun: null } },
    });
  });

  it('refuses opens at or after closes, naming each day at fault', () => {
    const made = officeHoursFrom({ timeZone: 'Europe/London', days: { mon: { opens: '17:00', closes: '09:00' }, tue: { opens: '09:00', closes: '17:00' }, fri: { opens: '12:00', closes: '12:00' } } });
    expect(made.ok).toBe(false);
    expect(!made.ok && made.problems.map((p) => p.fields)).toEqual([
      ['officeHours.days.mon.opens', 'officeHours.days.mon.closes'],
      ['officeHours.days.fri.opens', 'officeHours.days.fri.closes'],
    ]);
    const legacy = officeHoursFrom({ timeZone: 'Europe/London', days: ['mon'], opens: '17:00', closes: '09:00' });
    expect(!legacy.ok && legacy.problems[0]?.fields).toEqual(['officeHours.opens', 'officeHours.closes']);
  });
});
