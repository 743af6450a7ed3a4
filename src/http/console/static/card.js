// One card per child: the latest alert in full, the earlier ones listed, and one button that
// acknowledges every alert on the card not yet acknowledged.

import { el } from './dom.js';
import { childName, factList, kindOf, summaryLine } from './facts.js';
import { formatInstant } from './format.js';

/** "Acknowledged by Sam Jones at Tue 3 Jun 2025, 14:32" ("by you" for the worker signed in here). */
export function acknowledgedText(n, me) {
  const who = n.acknowledgedBy && me.sub && n.acknowledgedBy === me.sub ? 'you' : (n.acknowledgedByName ?? n.acknowledgedBy);
  return ['Acknowledged', who && `by ${who}`, n.acknowledgedAt && `at ${formatInstant(n.acknowledgedAt)}`].filter(Boolean).join(' ');
}

/** A new card (a list item holding an article) with a stable `id`; `onAcknowledge()` is called by its button. */
export function createCard(id, onAcknowledge) {
  const status = el('p', { class: 'status' });
  const name = el('h2', { class: 'name', id: `${id}-name`, tabindex: '-1' });
  const kind = el('p', { class: 'kind' });
  const facts = el('div', { class: 'facts-holder' });
  const earlierList = el('ol', { class: 'earlier-list' });
  const earlierSummary = el('summary', {});
  const earlier = el('details', { class: 'earlier', hidden: true }, earlierSummary, earlierList);
  const ack = el('div', { class: 'ack' });
  const article = el('article', { class: 'alert', 'aria-labelledby': `${id}-name` }, status, name, kind, facts, earlier, ack);
  const item = el('li', { class: 'alert-item', id }, article);
  item.parts = { id, article, status, name, kind, facts, earlier, earlierSummary, earlierList, ack, onAcknowledge };
  return item;
}

function badges(group) {
  const open = group.open.length > 0;
  return [
    el('span', { class: open ? 'badge badge--new' : 'badge badge--done' }, open ? 'New — not acknowledged' : 'Acknowledged'),
    group.escalated && open ? el('span', { class: 'badge badge--escalated' }, 'Escalated: waiting too long') : null,
  ];
}

function kindText(group) {
  const { latest, items } = group;
  const more = items.length > 1 ? ` · ${items.length} alerts for this child${group.open.length ? `, ${group.open.length} not acknowledged` : ''}` : '';
  return `${kindOf(latest)} · alert ${latest.eventNumber}${more}`;
}

function showEarlier(parts, group, me) {
  const earlier = group.items.slice(1);
  parts.earlier.hidden = earlier.length === 0;
  parts.earlierSummary.textContent = `Earlier alerts for this child (${earlier.length})`;
  parts.earlierList.replaceChildren(
    ...earlier.map((n) => el('li', { class: n.acknowledgedAt ? 'earlier-item' : 'earlier-item earlier-item--open' },
      summaryLine(n), el('br'), n.acknowledgedAt ? acknowledgedText(n, me) : 'Not acknowledged')),
  );
}

function showButton(parts, group, pending) {
  let button = parts.ack.querySelector('button');
  if (!button) {
    button = el('button', { type: 'button', class: 'button', 'aria-describedby': `${parts.id}-name` });
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') !== 'true') parts.onAcknowledge();
    });
    parts.ack.replaceChildren(button);
  }
  const label = group.open.length > 1 ? `Acknowledge all ${group.open.length}` : 'Acknowledge';
  button.textContent = pending ? 'Acknowledging…' : label;
  if (pending) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}

/** Draws the card for its group now: new, acknowledging (`pending`), or acknowledged; escalated or not. */
export function updateCard(item, group, me, { pending = false } = {}) {
  const { parts } = item;
  const open = group.open.length > 0;
  parts.article.dataset.eventNumber = String(group.latest.eventNumber);
  parts.article.classList.toggle('alert--new', open);
  parts.article.classList.toggle('alert--done', !open);
  parts.article.classList.toggle('alert--escalated', group.escalated && open);
  parts.status.replaceChildren(...badges(group).filter(Boolean));
  parts.name.textContent = childName(group.latest);
  parts.kind.textContent = kindText(group);
  parts.facts.replaceChildren(...factList(group.latest));
  showEarlier(parts, group, me);
  if (open) return showButton(parts, group, pending);
  const hadFocus = parts.ack.contains(document.activeElement);
  parts.ack.replaceChildren(el('p', { class: 'ack-text' }, acknowledgedText(group.latest, me)));
  if (hadFocus) parts.name.focus(); // keep the keyboard user's place
}
