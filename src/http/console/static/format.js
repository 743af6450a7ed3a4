// Pure formatting: plan names, NHS numbers, dates and office hours, always in UK time.

const ZONE = 'Europe/London';

export const PLAN_NAMES = {
  CPP: 'Child protection plan',
  LAC: 'Looked after child',
  UCPP: 'Unborn child protection plan',
};

export const planName = (code) => PLAN_NAMES[code] ?? String(code ?? 'Unknown plan');

/** 9990000018 → "999 000 0018". */
export function formatNhsNumber(value) {
  const digits = String(value ?? '').replace(/\D/g, '');
  return digits.length === 10 ? `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}` : String(value ?? '');
}

const dateOnly = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
const instant = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const clock = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const parts = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** "2016-05-01" → "1 May 2016" (a calendar date: no time zone shift). */
export function formatDate(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value ?? ''));
  return match ? dateOnly.format(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])))) : String(value ?? '');
}

/** An ISO instant as UK wall-clock time: "Tue 3 Jun 2025, 14:32". */
export function formatInstant(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value ?? '') : instant.format(date);
}

export const formatClock = (date) => clock.format(date);

/** "emergency-department" → "Emergency department". */
export function settingLabel(setting) {
  if (!setting) return null;
  const words = String(setting).replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_NAMES = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** "Mon–Fri 09:00–17:00", or a list of days when they are not consecutive. */
export function describeHours(hours) {
  const days = DAYS.filter((d) => hours.days.includes(d));
  const first = DAYS.indexOf(days[0]);
  const consecutive = days.length > 2 && days.every((d, i) => DAYS.indexOf(d) === first + i);
  const dayText = consecutive ? `${DAY_NAMES[days[0]]}–${DAY_NAMES[days.at(-1)]}` : days.map((d) => DAY_NAMES[d]).join(', ');
  return `${dayText} ${hours.opens}–${hours.closes}`;
}

/** Whether the instant falls within the LA's office hours, as the service decides it (UK time). */
export function isOfficeHours(hours, now) {
  const p = Object.fromEntries(parts.formatToParts(now).map((x) => [x.type, x.value]));
  const day = String(p.weekday).toLowerCase().slice(0, 3);
  const time = `${p.hour}:${p.minute}`;
  return hours.days.includes(day) && time >= hours.opens && time < hours.closes;
}
