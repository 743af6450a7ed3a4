// Which alerts a view shows, and how: repeat alerts about one child share a card. Pure functions.

// Alerts about a child looked up or not brought (and their escalations); the LA-wide kinds stand alone.
const ABOUT_A_CHILD = new Set(['access', 'was-not-brought', 'escalation']);

/** True when the notification is for one of `teams`, or routed to no team (the LA's, for everyone). */
export const forTeams = (n, teams) => !n.routedTo || teams.includes(n.routedTo.teamCode);

export const isEscalated = (n) => n.type === 'escalation' || n.escalations > 0;

const keyOf = (n) => (ABOUT_A_CHILD.has(n.type) && n.subject?.nhsNumber ? `child:${n.subject.nhsNumber}` : `event:${n.eventNumber}`);

/**
 * Groups notifications into cards, newest first: one per child for the alert kinds, each holding its
 * alerts newest first. `open` are those not acknowledged (what the card's button acknowledges). A card
 * is escalated when one of its alerts is, or when an escalation of one of them is among `known` (every
 * notification this console holds): a team's view hides an escalation sent to another team, but the
 * team first told must still see, live, that its alert went over its head.
 */
export function groupAlerts(notifications, known = notifications) {
  const escalatedEvents = new Set(known.filter((n) => n.type === 'escalation').map((n) => n.escalates?.eventNumber));
  const groups = new Map();
  for (const n of [...notifications].sort((a, b) => b.eventNumber - a.eventNumber)) {
    const key = keyOf(n);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, items: [] }));
    group.items.push(n);
  }
  return [...groups.values()].map((g) => ({
    ...g,
    latest: g.items[0],
    open: g.items.filter((n) => !n.acknowledgedAt).map((n) => n.eventNumber),
    escalated: g.items.some((n) => isEscalated(n) || escalatedEvents.has(n.eventNumber)),
  }));
}
