import { bankHolidayOn } from './bank-holidays.ts';
import { addDays } from './dates.ts';
import { clockChangeInstantOn, londonWallClockOf, possibleInstantsOf, weekdayOf } from './london-time.ts';
import { isAlwaysStaffed, WEEKDAYS, type OfficeHours } from './office-hours.ts';

/** Why the office is, or is not, staffed at an instant. */
export type ContactReason = 'open' | 'staffed-24/7' | 'bank-holiday' | 'closed-today' | 'before-opening' | 'after-closing';

/** Which of an LA's two numbers answers at an instant. */
export type ContactNow = {
  outOfHours: boolean;
  callFirst: 'office-hours' | 'out-of-hours';
  reason: ContactReason;
  /** The bank holiday's name when that is the reason, else null. */
  bankHoliday: string | null;
};

const staffed = (reason: ContactReason): ContactNow => ({ outOfHours: false, callFirst: 'office-hours', reason, bankHoliday: null });
const closed = (reason: ContactReason, bankHoliday: string | null = null): ContactNow => ({ outOfHours: true, callFirst: 'out-of-hours', reason, bankHoliday });

/**
 * The one rule for which number to ring first (issue 11): the office while it is staffed, at
 * Europe/London wall time, by its hours for that day of the week; the Emergency Duty Team otherwise.
 * England and Wales bank holidays are out of hours, unless the office is staffed 24/7. The FHIR
 * Organization's telecom rank, every notification's `outOfHours` and the console's banner follow it.
 */
export function contactNow(organisation: { officeHours: OfficeHours }, at: Date): ContactNow {
  const hours = organisation.officeHours;
  if (isAlwaysStaffed(hours)) return staffed('staffed-24/7');
  const wall = londonWallClockOf(at);
  const holiday = bankHolidayOn(wall.date);
  if (holiday) return closed('bank-holiday', holiday);
  const day = hours.days[wall.weekday];
  if (!day) return closed('closed-today');
  if (wall.time < day.opens) return closed('before-opening');
  if (wall.time >= day.closes) return closed('after-closing');
  return staffed('open');
}

// Long enough to reach past any run of closed days (a Monday-only office over Easter and May), short enough to stay cheap.
const HORIZON_DAYS = 400;

/**
 * The next instant after `at` at which `contactNow(…).outOfHours` changes, or null when it never
 * will (staffed 24/7, or no day with hours). Exact to the minute, across clock changes: the answer
 * can only change where a wall time of an opening or closing is reached, or where the clocks jump,
 * so those instants are tried in order under the rule itself.
 */
export function nextChangeAfter(organisation: { officeHours: OfficeHours }, at: Date): Date | null {
  const hours = organisation.officeHours;
  if (isAlwaysStaffed(hours) || WEEKDAYS.every((d) => hours.days[d] === null)) return null;
  const now = contactNow(organisation, at).outOfHours;
  const first = londonWallClockOf(at).date;
  const candidates: number[] = [];
  for (let i = -1; i <= HORIZON_DAYS; i++) {
    const date = addDays(first, i);
    const day = hours.days[weekdayOf(date)];
    if (day) candidates.push(...possibleInstantsOf(date, day.opens), ...possibleInstantsOf(date, day.closes));
    candidates.push(clockChangeInstantOn(date));
  }
  for (const instant of candidates.filter((c) => c > at.getTime()).sort((a, b) => a - b)) {
    if (contactNow(organisation, new Date(instant)).outOfHours !== now) return new Date(instant);
  }
  return null;
}
