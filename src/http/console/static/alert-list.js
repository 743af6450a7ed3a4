// A list of cards kept in step with its groups: cards are updated in place and moved only when their
// order changes, so that a keyboard user's focus stays where it was.

import { createCard, updateCard } from './card.js';

/** `prefix` keeps ids unique between lists; `onAcknowledge(group)` is called by a card's button. */
export function createAlertList(list, { prefix, onAcknowledge }) {
  const cards = new Map(); // group key → { item, group }

  return {
    /** Shows exactly these groups, in this order; `isPending(group)` says which are being acknowledged. */
    show(groups, me, isPending) {
      const focused = document.activeElement;
      const wanted = new Set(groups.map((g) => g.key));
      for (const [key, card] of cards) {
        if (wanted.has(key)) continue;
        card.item.remove();
        cards.delete(key);
      }
      let next = list.firstElementChild;
      for (const group of groups) {
        let card = cards.get(group.key);
        if (!card) {
          // Named by the alert it first showed (one group's at any time), so its id holds while alerts join it.
          card = { item: createCard(`${prefix}-${group.latest.eventNumber}`, () => onAcknowledge(card.group)) };
          cards.set(group.key, card);
        }
        card.group = group;
        updateCard(card.item, group, me, { pending: isPending(group) });
        if (card.item === next) next = next.nextElementSibling;
        else list.insertBefore(card.item, next);
      }
      if (focused instanceof window.HTMLElement && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
    },
    clear() {
      cards.clear();
      list.replaceChildren();
    },
    /** The card element of a group, if shown. */
    itemOf: (key) => cards.get(key)?.item,
  };
}
