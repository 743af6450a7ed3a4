// The banner: the LA, whether its office is staffed now and the number to call, exactly as the
// service answered (GET /la/v1/organisation, `now`). The console never works office hours out itself.

import { describeHours, formatUntil } from './format.js';
import { el } from './dom.js';

const EDT = 'Emergency Duty Team (EDT)';
const OFFICE = 'Duty team (office hours)';

// National form for people to read, E.164 for the phone to dial.
function phoneLink(phone, className) {
  if (!phone?.national) return el('span', { class: className }, 'not recorded');
  return el('a', { class: className, href: `tel:${phone.e164 ?? String(phone.national).replace(/[^0-9+]/g, '')}` }, phone.national);
}

function stateText(now) {
  const why = now.reason === 'bank-holiday' ? `: bank holiday${now.bankHoliday ? ` (${now.bankHoliday})` : ''}` : now.reason === 'staffed-24/7' ? ': staffed 24/7' : '';
  return `${why}${now.until ? `, until ${formatUntil(now.until, now.at)}` : ''}.`;
}

/**
 * Fills the banner with the organisation and the service's answer. `stale`: that answer has run out
 * and the service could not be asked again, so no number is put first.
 */
export function renderBanner(parts, organisation, { stale = false } = {}) {
  const now = organisation.now ?? { outOfHours: true };
  const phones = organisation.phones ?? {};
  const hoursText = `Office hours: ${describeHours(organisation.officeHours)}.`;
  parts.laName.textContent = organisation.name || organisation.code || '';
  parts.hours.classList.toggle('hours--out', stale || now.outOfHours);
  parts.hours.classList.toggle('hours--stale', stale); // on a phone, why no number is put first is never folded away
  if (stale) {
    parts.hoursState.replaceChildren(el('strong', {}, 'Office hours not known now'), `: the service cannot be reached to say which number answers. ${hoursText}`);
    parts.callNow.replaceChildren(el('span', { class: 'call-label' }, `${EDT}:`), ' ', phoneLink(phones.edt, 'phone'));
    parts.callOther.replaceChildren(`${OFFICE}: `, phoneLink(phones.officeHours, 'phone-other'));
  } else {
    parts.hoursState.replaceChildren(el('strong', {}, now.outOfHours ? 'Out of hours (EDT)' : 'Office hours'), `${stateText(now)} ${hoursText}`);
    const [nowLabel, nowPhone, otherLabel, otherPhone] = now.outOfHours
      ? [EDT, phones.edt, 'Duty team, office hours', phones.officeHours]
      : [OFFICE, phones.officeHours, 'Emergency Duty Team, out of hours', phones.edt];
    parts.callNow.replaceChildren(el('span', { class: 'call-label' }, `Call now: ${nowLabel}`), ' ', phoneLink(nowPhone, 'phone'));
    parts.callOther.replaceChildren(`${otherLabel}: `, phoneLink(otherPhone, 'phone-other'));
  }
  parts.hours.hidden = false;
}
