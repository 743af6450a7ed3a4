import type { IsoDate } from './dates.ts';
import { WEEKDAYS, type Weekday } from './office-hours.ts';

/** An instant as a clock on a wall in England shows it: the date, the day of the week and "HH:MM". */
export type WallClock = { date: IsoDate; weekday: Weekday; time: string };

const wall = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** Europe/London wall time at the instant, to the minute (GMT or BST as the law has it that day). */
export function londonWallClockOf(instant: Date): WallClock {
  const p = Object.fromEntries(wall.formatToParts(instant).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, weekday: String(p.weekday).toLowerCase().slice(0, 3) as Weekday, time: `${p.hour}:${p.minute}` };
}

/** The day of the week of a calendar date. */
export function weekdayOf(date: IsoDate): Weekday {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  // getUTCDay counts from Sunday; WEEKDAYS from Monday.
  return WEEKDAYS[(new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7] as Weekday;
}

/**
 * The instants at which a wall time on a date can occur in England: as GMT and as BST, one hour
 * earlier. Only one of them (or, when the clocks go back, both) is real; callers check.
 */
export function possibleInstantsOf(date: IsoDate, time: string): number[] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  const asGmt = Date.UTC(y, m - 1, d, hh, mm);
  return [asGmt, asGmt - 3_600_000];
}

/** 01:00 UTC on the date: when England's clocks change, on the days they do (the last Sundays of March and October). */
export function clockChangeInstantOn(date: IsoDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d, 1, 0);
}
