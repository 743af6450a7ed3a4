export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** When an LA's office is staffed; outside it the Emergency Duty Team (EDT) answers. */
export type OfficeHours = { timeZone: 'Europe/London'; days: Weekday[]; opens: string; closes: string };

/** A local authority as care settings and its own workers see it. */
export type Organisation = {
  code: string;
  name: string;
  officeHoursPhone: string | null;
  edtPhone: string | null;
  officeHours: OfficeHours;
};

export const DEFAULT_OFFICE_HOURS: OfficeHours = Object.freeze({
  timeZone: 'Europe/London',
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  opens: '09:00',
  closes: '17:00',
}) as OfficeHours;

const londonClock = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** True when the instant falls outside the LA's office hours (bank holidays are not known here). */
export function isOutOfHours(hours: OfficeHours, instant: Date): boolean {
  const parts = Object.fromEntries(londonClock.formatToParts(instant).map((p) => [p.type, p.value]));
  const day = String(parts.weekday).toLowerCase().slice(0, 3) as Weekday;
  const time = `${parts.hour}:${parts.minute}`;
  if (!hours.days.includes(day)) return true;
  return time < hours.opens || time >= hours.closes;
}
