/** A calendar date as YYYY-MM-DD; such strings order correctly as text. */
export type IsoDate = string;

const londonDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });

// The last answer, by UTC minute: England's offset from UTC is a whole number of hours, so the date
// there cannot change within a minute, and every lookup asks for today's date (Intl is not cheap).
let last = { minute: Number.NaN, date: '' };

/** The calendar date in England at the given instant. */
export function londonDateOf(instant: Date): IsoDate {
  const minute = Math.floor(instant.getTime() / 60_000);
  if (minute !== last.minute) last = { minute, date: londonDate.format(instant) };
  return last.date;
}

/** True for a real calendar date written YYYY-MM-DD (rejects 2025-02-30). */
export function isRealDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** The date a number of whole years later; 29 February falls to 1 March in common years. */
export function addYears(date: IsoDate, years: number): IsoDate {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y + years, m - 1, d)).toISOString().slice(0, 10);
}

/** The date a number of days later (negative for earlier). */
export function addDays(date: IsoDate, days: number): IsoDate {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
