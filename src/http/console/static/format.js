// Pure formatting: plan names, NHS numbers, dates and the LA's stated hours, always in UK time.

const ZONE = 'Europe/London';

export const PLAN_NAMES = {
  CPP: 'Child protection plan',
  LAC: 'Looked after child',
  UCPP: 'Unborn child protection plan',
};

export const planName = (code) => PLAN_NAMES[code] ?? String(code ?? 'Unknown plan');

// Children Act 1989: the section the child is looked after under.
const LAC_LEGAL_STATUSES = { S31: 'care order', S38: 'interim care order', S20: 'accommodated by agreement' };

/** "S31" → "S31 (care order)". */
export const lacLegalStatusName = (code) => (code ? `${code}${LAC_LEGAL_STATUSES[code] ? ` (${LAC_LEGAL_STATUSES[code]})` : ''}` : null);

/** A UK number in national form as a tel: link target: "0113 496 0100" → "tel:+441134960100". */
export function telHref(phone) {
  const digits = String(phone ?? '').replace(/[^0-9+]/g, '');
  return `tel:${/^0[1-9]\d{8,9}$/.test(digits) ? `+44${digits.slice(1)}` : digits}`;
}

/** 65 → "1 hour 5 minutes". */
export function formatMinutes(minutes) {
  const m = Math.max(0, Math.round(Number(minutes) || 0));
  const unit = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (m < 60) return unit(m, 'minute');
  return [unit(Math.floor(m / 60), 'hour'), m % 60 ? unit(m % 60, 'minute') : null].filter(Boolean).join(' ');
}

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth'];
/** 2 → "second"; beyond the fifth, "12th". */
export function ordinal(n) {
  if (ORDINALS[n - 1]) return ORDINALS[n - 1];
  const tens = n % 100;
  return `${n}${tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' })[n % 10] ?? 'th'}`;
}

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

/**
 * The LA's stated hours as text: "Mon–Thu 09:00–17:00, Fri 09:00–16:30; closed on bank holidays", or
 * "staffed 24/7". Only words: which number answers now is the service's answer, never worked out here.
 */
export function describeHours(hours) {
  if (!hours) return 'not given';
  if (hours.staffed === '24/7') return 'staffed 24/7';
  const runs = [];
  for (const day of DAYS) {
    const h = hours.days?.[day];
    const text = h ? `${h.opens}–${h.closes}` : null;
    const last = runs.at(-1);
    if (text && last?.text === text && last.to === DAYS[DAYS.indexOf(day) - 1]) last.to = day;
    else if (text) runs.push({ from: day, to: day, text });
  }
  if (!runs.length) return 'none (the EDT answers at all times)';
  const span = (r) => (r.from === r.to ? DAY_NAMES[r.from] : `${DAY_NAMES[r.from]}${DAYS.indexOf(r.to) - DAYS.indexOf(r.from) > 1 ? '–' : ', '}${DAY_NAMES[r.to]}`);
  return `${runs.map((r) => `${span(r)} ${r.text}`).join(', ')}; closed on bank holidays`;
}

const sameDay = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
const laterDay = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** When the service's answer next changes, in UK time: "17:00" later the same day, else "Tue 29 Dec, 09:00". */
export function formatUntil(until, at) {
  const end = new Date(until);
  const from = new Date(at);
  if (Number.isNaN(end.getTime())) return String(until ?? '');
  return !Number.isNaN(from.getTime()) && sameDay.format(end) === sameDay.format(from) ? clock.format(end) : laterDay.format(end);
}
