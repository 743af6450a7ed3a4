// What one signed-in console knows: every notification it has read, which of them the alerts list
// holds (recent, live and older pages), how far back each view has read, and a search's results.

import { forTeams } from './groups.js';

/** `myTeams`: the worker's duty team codes (token claim `teams`); none: the console shows all of the LA. */
export function createAlertState(myTeams) {
  const store = new Map(); // event number → notification, as last known
  const listed = new Set(); // event numbers in the alerts list
  const state = {
    myTeams,
    scope: myTeams.length ? 'team' : 'all',
    // Per view: every notification of the view from `at` up is read; `done`: there are no older ones.
    cursors: { team: { at: 0, done: true }, all: { at: 0, done: true } },
    highest: 0, // the highest event number read: the stream replays from it
    pending: new Set(), // event numbers being acknowledged here
    search: null, // { query, numbers: [], cursor, done, loading, error }
    get: (eventNumber) => store.get(eventNumber),

    /** Keeps a notification; true if it was not known before. A copy read later never undoes an acknowledgement. */
    remember(n) {
      const known = store.get(n.eventNumber);
      if (!known || (!known.acknowledgedAt && n.acknowledgedAt)) store.set(n.eventNumber, n);
      return !known;
    },
    /**
     * Puts a notification in the alerts list (from the stream, or a page read back). Only these move
     * `highest`: a search may find one the stream has yet to send, which a reconnect must not skip.
     */
    list(n) {
      const fresh = state.remember(n);
      listed.add(n.eventNumber);
      state.highest = Math.max(state.highest, n.eventNumber);
      return fresh;
    },

    inScope: (n, scope = state.scope) => scope === 'all' || forTeams(n, myTeams),

    /** The alerts list of a view: what it has read, from its cursor up. */
    visible(scope = state.scope) {
      const { at } = state.cursors[scope];
      return [...listed].map((e) => store.get(e)).filter((n) => n && n.eventNumber >= at && state.inScope(n, scope));
    },
    /** Event numbers of the view's alerts not acknowledged. */
    waiting: (scope = state.scope) => state.visible(scope).filter((n) => !n.acknowledgedAt).map((n) => n.eventNumber),

    /** Marks notifications acknowledged; `authoritative` (the service's acknowledgement frame) replaces what this console assumed. */
    acknowledge(eventNumbers, ack, authoritative) {
      for (const eventNumber of eventNumbers) {
        state.pending.delete(eventNumber);
        const n = store.get(eventNumber);
        if (!n || (n.acknowledgedAt && !authoritative)) continue;
        store.set(eventNumber, { ...n, acknowledgedAt: ack.acknowledgedAt, acknowledgedBy: ack.acknowledgedBy, acknowledgedByName: ack.acknowledgedByName ?? null });
      }
    },
    /** Event numbers known and not acknowledged: those whose state is read again after a reconnect. */
    unacknowledged: () => [...store.values()].filter((n) => !n.acknowledgedAt).map((n) => n.eventNumber),
    results: () => (state.search ? state.search.numbers.map((e) => store.get(e)).filter(Boolean) : []),
  };
  return state;
}
