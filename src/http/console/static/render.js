// Alert cards. Everything is built with DOM calls and textContent: no data ever becomes markup.

import { formatDate, formatInstant, formatNhsNumber, planName, settingLabel } from './format.js';

const KINDS = {
  access: 'Looked up in unscheduled care',
  'inactive-nhs-number': 'NHS number no longer active',
  'plan-ended-over-18': 'Plan ended: turned 18',
};

/** el('p', { class: 'x' }, 'text', child, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const childName = (n) => [n.subject?.givenNames, n.subject?.familyName].filter(Boolean).join(' ') || 'Name not given';

function plansText(n) {
  const plans = Array.isArray(n.plans) && n.plans.length ? n.plans : [n.plan].filter(Boolean);
  return plans
    .map((p) => `${planName(p.type)}${p.startDate ? `, since ${formatDate(p.startDate)}` : ''}${p.status && p.status !== 'active' ? ' (ended)' : ''}`)
    .join('; ');
}

const FIELD_NAMES = { familyName: 'family name', givenNames: 'given names', birthDate: 'date of birth', postcode: 'postcode' };

/** What the notification's `detailsDiffer` asks of the duty worker, naming fields, never values. */
function detailsDifferText(differ) {
  if (!differ || !Array.isArray(differ.fields) || differ.fields.length === 0) return null;
  const fields = differ.fields.map((f) => FIELD_NAMES[f] ?? String(f)).join(', ');
  const where = differ.otherLa ? 'another local authority holds different details for this NHS number' : 'your plans of this NHS number disagree';
  return `Details differ (${fields}): ${where}. The clinician was warned; check your record is right.`;
}

const REASONS = { superseded: 'merged into another number', deceased: 'recorded as deceased', invalidated: 'invalidated', restricted: 'restricted' };

/** For an inactive-NHS-number notification: why, and where the plans went when they moved. */
function inactiveNumberText(n) {
  if (n.type !== 'inactive-nhs-number') return null;
  const why = REASONS[n.reason] ?? 'no longer active';
  if (n.moved && n.replacementNhsNumber) return `${why}: your plans now sit under ${formatNhsNumber(n.replacementNhsNumber)}; update your records.`;
  return `${why}: its plans are no longer shown to clinicians.`;
}

function facts(n) {
  const rows = [
    ['Date of birth', formatDate(n.subject?.birthDate)],
    ['NHS number', formatNhsNumber(n.subject?.nhsNumber)],
    ['Plan', plansText(n)],
    ['Came in', n.outOfHours ? 'Out of hours (EDT)' : 'In office hours'],
  ];
  if (n.plan?.type === 'UCPP') rows.push(['Note', 'The person named is the expectant mother.', true]);
  const differ = detailsDifferText(n.detailsDiffer);
  if (differ) rows.push(['Check identity', differ, true]);
  const moved = inactiveNumberText(n);
  if (moved) rows.push(['NHS number', moved, true]);
  const by = n.accessedBy;
  if (by) {
    const setting = settingLabel(by.setting);
    rows.push(['Seen at', [by.organisationName || by.organisationCode, setting && `(${setting})`].filter(Boolean).join(' '), true]);
    rows.push(['When', formatInstant(n.occurredAt)]);
    // The national job role tells a duty worker who they are dealing with; the service role does not.
    rows.push(['Looked up by', [by.name || by.userId, by.jobRole?.name && `(${by.jobRole.name})`].filter(Boolean).join(' ')]);
    // The SDS user id is how the NHS names a person across organisations: what a duty worker quotes when calling back.
    if (by.sdsUserId) rows.push(['SDS user id', by.sdsUserId]);
  } else rows.push(['Date', formatInstant(n.occurredAt)]);
  return el('dl', { class: 'facts' }, rows.map(([term, detail, wide]) => el('div', { class: wide ? 'fact fact--wide' : 'fact' }, el('dt', {}, term), el('dd', {}, detail))));
}

function acknowledgedText(n, me) {
  const who = n.acknowledgedBy && me.sub && n.acknowledgedBy === me.sub ? 'you' : n.acknowledgedBy;
  return ['Acknowledged', who && `by ${who}`, n.acknowledgedAt && `at ${formatInstant(n.acknowledgedAt)}`].filter(Boolean).join(' ');
}

/** One alert as a list item holding an article; `onAcknowledge(eventNumber)` is called by its button. */
export function renderCard(n, me, onAcknowledge) {
  const id = `alert-${n.eventNumber}`;
  const status = el('p', { class: 'status' });
  const ack = el('div', { class: 'ack' });
  const article = el(
    'article',
    { class: 'alert', 'aria-labelledby': `${id}-name`, 'data-event-number': n.eventNumber },
    status,
    el('h2', { class: 'name', id: `${id}-name`, tabindex: '-1' }, childName(n)),
    el('p', { class: 'kind' }, `${KINDS[n.type] ?? n.type} · alert ${n.eventNumber}`),
    facts(n),
    ack,
  );
  const item = el('li', { class: 'alert-item', id }, article);
  item.parts = { article, status, ack, onAcknowledge };
  updateCard(item, n, me);
  return item;
}

/** Shows the card as new, acknowledging, or acknowledged. */
export function updateCard(item, n, me, { pending = false } = {}) {
  const { article, status, ack, onAcknowledge } = item.parts;
  const acknowledged = Boolean(n.acknowledgedAt);
  article.classList.toggle('alert--new', !acknowledged);
  article.classList.toggle('alert--done', acknowledged);
  const hadFocus = ack.contains(document.activeElement);
  if (acknowledged) {
    status.replaceChildren(el('span', { class: 'badge badge--done' }, 'Acknowledged'));
    ack.replaceChildren(el('p', { class: 'ack-text' }, acknowledgedText(n, me)));
    if (hadFocus) item.querySelector('h2').focus(); // keep the keyboard user's place
    return;
  }
  status.replaceChildren(el('span', { class: 'badge badge--new' }, 'New — not acknowledged'));
  let button = ack.querySelector('button');
  if (!button) {
    button = el('button', { type: 'button', class: 'button', 'aria-describedby': `alert-${n.eventNumber}-name` }, 'Acknowledge');
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') !== 'true') onAcknowledge(n.eventNumber);
    });
    ack.replaceChildren(button);
  }
  button.textContent = pending ? 'Acknowledging…' : 'Acknowledge';
  if (pending) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}

/** What the screen reader hears for a new alert: no name or NHS number, those stay in the card. */
export function announcement(n) {
  const where = n.accessedBy?.organisationName ? ` at ${n.accessedBy.organisationName}` : '';
  return n.type === 'access'
    ? `New alert, ${planName(n.plan?.type)}: looked up${where}.`
    : `New alert: ${KINDS[n.type] ?? n.type}.`;
}
