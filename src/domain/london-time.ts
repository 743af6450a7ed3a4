import type { IsoDate } from './dates.ts';
import { WEEKDAYS, type Weekday } from './office-hours.ts';

/** An instant as a clock on a wall in England shows it: the date, the day of the week and "HH:MM". */
export type WallClock = { date: IsoDate; weekday: Weekday; time: string };

const wall = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

// Every lookup asks for the wall clock of about the same minute, and formatting costs microseconds.
const MINUTE_MS = 60_000;
const REMEMBERED_MINUTES = 64;
const byMinute = new Map<number, WallClock>();

/** Europe/London wall time at the instant, to the minute (GMT or BST as the law has it that day). */
export function londonWallClockOf(instant: Date): WallClock {
  const minute = Math.floor(instant.getTime() / MINUTE_MS);
  let clock = byMinute.get(minute);
  if (!clock) {
    const p = Object.fromEntries(wall.formatToParts(instant).map((x) => [x.type, x.value]));
    clock = { date: `${p.year}-${p.month}-${p.day}`, weekday: String(p.weekday).toLowerCase().slice(0, 3) as Weekday, time: `${p.hour}:${p.minute}` };
    if (byMinute.size >= REMEMBERED_MINUTES) byMinute.delete(byMinute.keys().next().value as number);
    byMinute.set(minute, clock);
  }
  return clock;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** 00:00 UTC on a calendar date, in milliseconds. */
export function utcMidnightOf(date: IsoDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

/** The day of the week of the calendar date that starts at `utcMidnight` (1 January 1970 was a Thursday). */
export function weekdayAt(utcMidnight: number): Weekday {
  return WEEKDAYS[(Math.floor(utcMidnight / DAY_MS) + 3) % 7] as Weekday;
}

/**
 * The instants at which a wall time ("HH:MM") of the date starting at `utcMidnight` can occur in
 * England: as GMT, and as BST one hour earlier. Only one is real (both, in the hour the clocks go
 * back); callers check.
 */
export function possibleInstantsOf(utcMidnight: number, time: string): [number, number] {
  const asGmt = utcMidnight + (Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))) * MINUTE_MS;
  return [asGmt, asGmt - HOUR_MS];
}

/** 01:00 UTC on the date: when England's clocks change, on the days they do (the last Sundays of March and October). */
export const clockChangeInstantOn = (utcMidnight: number): number => utcMidnight + HOUR_MS;
