export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One day's staffed hours, "HH:MM" Europe/London wall time; `opens` is strictly before `closes`. */
export type DayHours = { opens: string; closes: string };

/** Hours per day of the week; a null day is closed. Bank holidays are closed too. */
export type WeeklyHours = { timeZone: 'Europe/London'; days: Record<Weekday, DayHours | null> };

/** An office staffed round the clock, bank holidays included. */
export type AlwaysStaffed = { timeZone: 'Europe/London'; staffed: '24/7' };

/** When an LA's office is staffed; outside it the Emergency Duty Team (EDT) answers. */
export type OfficeHours = WeeklyHours | AlwaysStaffed;

/** The shape PUT accepted before per-day hours: the same hours on each listed day. Still accepted, and converted. */
export type LegacyOfficeHours = { timeZone: 'Europe/London'; days: Weekday[]; opens: string; closes: string };

/** What an LA may send: per-day hours (a missing day is closed), 24/7, or the legacy shape. */
export type OfficeHoursInput =
  | { timeZone: 'Europe/London'; days: Partial<Record<Weekday, DayHours | null>> }
  | AlwaysStaffed
  | LegacyOfficeHours;

/** Whatever the office does not say: weekdays 09:00–17:00. */
export const DEFAULT_OFFICE_HOURS: WeeklyHours = Object.freeze({
  timeZone: 'Europe/London',
  days: Object.freeze({
    mon: { opens: '09:00', closes: '17:00' }, tue: { opens: '09:00', closes: '17:00' }, wed: { opens: '09:00', closes: '17:00' },
    thu: { opens: '09:00', closes: '17:00' }, fri: { opens: '09:00', closes: '17:00' }, sat: null, sun: null,
  }),
}) as WeeklyHours;

export const isAlwaysStaffed = (hours: OfficeHours): hours is AlwaysStaffed => 'staffed' in hours;

/** Held hours with their days in week order (PostgreSQL's jsonb keeps keys in an order of its own) and none missing. */
export function inWeekOrder(hours: OfficeHours): OfficeHours {
  if (isAlwaysStaffed(hours)) return { timeZone: hours.timeZone, staffed: hours.staffed };
  return { timeZone: hours.timeZone, days: Object.fromEntries(WEEKDAYS.map((d) => [d, hours.days[d] ?? null])) as Record<Weekday, DayHours | null> };
}

/** The fields of the request at fault, and why (the schema has already checked each time's form). */
export type HoursProblem = { fields: string[]; message: string };

/** The hours as held: every day named, closed days null; or the problems, each naming its field. */
export function officeHoursFrom(input: OfficeHoursInput): { ok: true; hours: OfficeHours } | { ok: false; problems: HoursProblem[] } {
  if ('staffed' in input) return { ok: true, hours: { timeZone: input.timeZone, staffed: '24/7' } };
  if (Array.isArray(input.days)) return fromLegacy(input as LegacyOfficeHours);
  const given = input.days as Partial<Record<Weekday, DayHours | null>>;
  const days = Object.fromEntries(WEEKDAYS.map((d) => [d, given[d] ? { opens: given[d].opens, closes: given[d].closes } : null])) as Record<Weekday, DayHours | null>;
  const problems = WEEKDAYS.flatMap((d) => orderProblem(days[d], `officeHours.days.${d}`));
  return problems.length ? { ok: false, problems } : { ok: true, hours: { timeZone: input.timeZone, days } };
}

function fromLegacy(input: LegacyOfficeHours): { ok: true; hours: OfficeHours } | { ok: false; problems: HoursProblem[] } {
  const problems = orderProblem(input, 'officeHours');
  if (problems.length) return { ok: false, problems };
  const days = Object.fromEntries(WEEKDAYS.map((d) => [d, input.days.includes(d) ? { opens: input.opens, closes: input.closes } : null]));
  return { ok: true, hours: { timeZone: input.timeZone, days: days as Record<Weekday, DayHours | null> } };
}

// "HH:MM" strings order as times do. An overnight shift is the EDT's to say, not the office's.
function orderProblem(day: DayHours | null, at: string): HoursProblem[] {
  if (!day || day.opens < day.closes) return [];
  return [{ fields: [`${at}.opens`, `${at}.closes`], message: `${at}: opens (${day.opens}) must be before closes (${day.closes}); out-of-hours cover is the EDT's number` }];
}
