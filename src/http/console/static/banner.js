// The banner: the LA, whether its office is open now (UK time), and the number to call.

import { describeHours, formatClock, isOfficeHours } from './format.js';
import { el } from './render.js';

const DEFAULT_HOURS = { timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '09:00', closes: '17:00' };

function phoneLink(number, className) {
  if (!number) return el('span', { class: className }, 'not recorded');
  return el('a', { class: className, href: `tel:${String(number).replace(/[^0-9+]/g, '')}` }, number);
}

/** Fills the banner for `organisation` at `now`. */
export function renderBanner(parts, organisation, now = new Date()) {
  const hours = organisation.officeHours ?? DEFAULT_HOURS;
  const inHours = isOfficeHours(hours, now);
  parts.laName.textContent = organisation.name || organisation.code || '';
  parts.hours.classList.toggle('hours--out', !inHours);
  parts.hoursState.replaceChildren(
    el('strong', {}, inHours ? 'Office hours' : 'Out of hours (EDT)'),
    ` at ${formatClock(now)} UK time. Office hours: ${describeHours(hours)}.`,
  );
  const [nowLabel, nowNumber, otherLabel, otherNumber] = inHours
    ? ['Duty team (office hours)', organisation.officeHoursPhone, 'Emergency Duty Team, out of hours', organisation.edtPhone]
    : ['Emergency Duty Team (EDT)', organisation.edtPhone, 'Duty team, office hours', organisation.officeHoursPhone];
  parts.callNow.replaceChildren(el('span', { class: 'call-label' }, `Call now: ${nowLabel}`), ' ', phoneLink(nowNumber, 'phone'));
  parts.callOther.replaceChildren(`${otherLabel}: `, phoneLink(otherNumber, 'phone-other'));
  parts.hours.hidden = false;
}
