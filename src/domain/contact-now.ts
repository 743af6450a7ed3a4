import { bankHolidayOn } from './bank-holidays.ts';
import { clockChangeInstantOn, DAY_MS, HOUR_MS, londonWallClockOf, possibleInstantsOf, utcMidnightOf, weekdayAt } from './london-time.ts';
import { isAlwaysStaffed, WEEKDAYS, type OfficeHours, type WeeklyHours } from './office-hours.ts';

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
 * so those instants are tried in order under the rule itself, a day at a time.
 */
export function nextChangeAfter(organisation: { officeHours: OfficeHours }, at: Date): Date | null {
  const hours = organisation.officeHours;
  if (isAlwaysStaffed(hours) || WEEKDAYS.every((d) => !hours.days[d])) return null;
  const now = contactNow(organisation, at).outOfHours;
  // From the day before: a wall time of a date can fall, as BST, an hour into the previous UTC day.
  const first = utcMidnightOf(londonWallClockOf(at).date) - DAY_MS;
  let waiting: number[] = [];
  for (let i = 0; i <= HORIZON_DAYS + 1; i++) {
    const midnight = first + i * DAY_MS;
    waiting.push(...candidatesOn(hours, midnight));
    // No later date has an instant before 23:00 UTC of this one: everything earlier can be tried now.
    const settled = midnight + DAY_MS - HOUR_MS;
    waiting.sort((a, b) => a - b);
    const ready = waiting.filter((c) => c < settled);
    waiting = waiting.filter((c) => c >= settled);
    for (const instant of ready) {
      if (instant > at.getTime() && contactNow(organisation, new Date(instant)).outOfHours !== now) return new Date(instant);
    }
  }
  return null;
}

function candidatesOn(hours: WeeklyHours, midnight: number): number[] {
  const day = hours.days[weekdayAt(midnight)];
  return [...(day ? [...possibleInstantsOf(midnight, day.opens), ...possibleInstantsOf(midnight, day.closes)] : []), clockChangeInstantOn(midnight)];
}
