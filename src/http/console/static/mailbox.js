// Reading the LA's mailbox back, newest first: the recent alerts, older pages, and searches.

import { api } from './api.js';

export const PAGE = 50;

/**
 * One page newest first, optionally before an event number, for a team or a search. `cursor`: every
 * matching notification from that number up is now loaded (0 once there are no older ones).
 */
export async function pageBefore(token, before, filter = {}, limit = PAGE) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before !== undefined) query.set('before', String(before));
  for (const name of ['team', 'nhsNumber', 'name']) if (filter[name]) query.set(name, filter[name]);
  const { notifications } = await api(`/la/v1/notifications?${query}`, { token });
  const done = notifications.length < limit;
  return { notifications, done, cursor: done ? 0 : notifications.at(-1).eventNumber };
}

/**
 * The page before `before` of a view: the LA's (no teams) or the teams' (one read each, merged). The
 * cursor is the highest of theirs, so that the view shows no gap where one team's page ran further back.
 */
export async function viewPageBefore(token, before, teams) {
  const pages = await Promise.all((teams.length ? teams : [undefined]).map((team) => pageBefore(token, before, { team })));
  return { notifications: pages.flatMap((p) => p.notifications), done: pages.every((p) => p.done), cursor: Math.max(...pages.map((p) => p.cursor)) };
}

/** The LA's last event number now: the stream replays everything after it. */
export const lastEventNumber = async (token) => (await api('/la/v1/notifications?limit=1', { token })).lastEventNumber;

/** The notifications from `after` up to `upTo`, in order: their acknowledgement state, read again. */
export async function readRange(token, after, upTo) {
  const out = [];
  for (let from = after, pages = 0; from < upTo && pages < 10; pages++) {
    const { notifications } = await api(`/la/v1/notifications?after=${from}&limit=1000`, { token });
    out.push(...notifications);
    if (notifications.length < 1000) break;
    from = notifications.at(-1).eventNumber;
  }
  return out;
}
