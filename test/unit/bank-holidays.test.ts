import { describe, expect, it } from 'vitest';
import { bankHolidayOn, bankHolidaysBetween } from '../../src/domain/bank-holidays.ts';
import { addDays, londonDateOf } from '../../src/domain/dates.ts';

// The eight bank holidays England and Wales have every year (https://www.gov.uk/bank-holidays).
const RECURRING = ["New Year's Day", 'Good Friday', 'Easter Monday', 'Early May bank holiday', 'Spring bank holiday', 'Summer bank holiday', 'Christmas Day', 'Boxing Day'];
// "Christmas Day (substitute day)" stands for Christmas Day; "Early May bank holiday (VE day)" for the early May one.
const sameName = (name: string, recurring: string) => name.startsWith(recurring);

describe('England and Wales bank holidays (date-holidays, shipped with the project)', () => {
  it('covers the next 12 months from today: each of the eight, or its substitute, in every year they touch', () => {
    // The real clock on purpose: this fails once the shipped library no longer knows the year ahead.
    const today = londonDateOf(new Date());
    const end = addDays(today, 365);
    for (let year = Number(today.slice(0, 4)); year <= Number(end.slice(0, 4)); year++) {
      const names = bankHolidaysBetween(`${year}-01-01`, `${year}-12-31`).map((h) => h.name);
      for (const recurring of RECURRING) expect(names.some((n) => sameName(n, recurring)), `${recurring} in ${year}`).toBe(true);
    }
    const ahead = bankHolidaysBetween(today, end);
    expect(ahead.length).toBeGreaterThanOrEqual(7);
    for (const h of ahead) expect(bankHolidayOn(h.date)).toBe(h.name);
  });

  it('counts substitute days and only days off, not observances', () => {
    expect(bankHolidayOn('2026-12-28')).toBe('Boxing Day (substitute day)');
    expect(bankHolidayOn('2027-12-27')).toBe('Christmas Day (substitute day)');
    expect(bankHolidayOn('2027-12-28')).toBe('Boxing Day (substitute day)');
    expect(bankHolidayOn('2028-01-03')).toBe('New Year\'s Day (substitute day)');
    expect(bankHolidayOn('2027-03-07')).toBeUndefined(); // Mother's Day
    expect(bankHolidayOn('2027-03-28')).toBeUndefined(); // Easter Sunday
    expect(bankHolidayOn('2026-12-02')).toBeUndefined();
  });
});
