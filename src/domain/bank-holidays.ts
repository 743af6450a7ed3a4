import Holidays from 'date-holidays';
import type { IsoDate } from './dates.ts';

// The one file that knows where bank holidays come from: date-holidays' rules for England (England
// and Wales share their bank holidays), public holidays only, substitute days included. Observances
// such as Mother's Day are not days off. Swap the source here and nowhere else.
const calendar = new Holidays('GB', 'ENG');

const byYear = new Map<number, ReadonlyMap<IsoDate, string>>();

function holidaysOf(year: number): ReadonlyMap<IsoDate, string> {
  let days = byYear.get(year);
  if (!days) {
    // `date` is the holiday's own calendar date ("2027-12-28 00:00:00"), whatever the process's time zone.
    const pairs = calendar.getHolidays(year, 'en').filter((h) => h.type === 'public').map((h) => [h.date.slice(0, 10), h.name] as const);
    days = new Map(pairs);
    byYear.set(year, days);
  }
  return days;
}

/** The name of the England and Wales bank holiday on a calendar date, or undefined on an ordinary day. */
export function bankHolidayOn(date: IsoDate): string | undefined {
  return holidaysOf(Number(date.slice(0, 4))).get(date);
}

/** Every England and Wales bank holiday from `from` to `to` inclusive, in date order. */
export function bankHolidaysBetween(from: IsoDate, to: IsoDate): { date: IsoDate; name: string }[] {
  const found: { date: IsoDate; name: string }[] = [];
  for (let year = Number(from.slice(0, 4)); year <= Number(to.slice(0, 4)); year++) {
    for (const [date, name] of holidaysOf(year)) if (date >= from && date <= to) found.push({ date, name });
  }
  return found.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}
