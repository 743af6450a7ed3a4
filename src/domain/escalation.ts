import { contactNow } from './contact-now.ts';
import { DEFAULT_ESCALATE_AFTER_MINUTES, escalationOf, type DutyTeams, type RoutedTo } from './duty-teams.ts';
import type { NotificationBody } from './notification.ts';
import type { Organisation } from './organisation.ts';

/** The notifications that escalate when nobody acknowledges them; an escalation itself does not (its original repeats). */
export const ALERT_TYPES = ['access', 'was-not-brought'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** An alert nobody has acknowledged yet: an access or was-not-brought notification routed to a duty team. */
export type WaitingAlert = {
  eventNumber: number;
  type: AlertType;
  occurredAt: Date;
  nhsNumber: string;
  body: NotificationBody & { routedTo: RoutedTo };
  /** When it was last escalated (null: never), and how many times. */
  escalatedAt: Date | null;
  escalations: number;
};

/** The instants by which a waiting alert is due: first when it occurred at or before `occurredBy`, again when last escalated at or before `escalatedBy`. */
export type DueBy = { occurredBy: Date; escalatedBy: Date };

/** When the alerts of each of an LA's teams are due at one instant, and those of a team the LA has since removed (`otherTeams`). */
export type DueCutoffs = { teams: (DueBy & { teamCode: string })[]; otherTeams: DueBy };

const MINUTE_MS = 60_000;

const dueBy = (at: Date, afterMinutes: number, repeatMinutes: number): DueBy => ({
  occurredBy: new Date(at.getTime() - afterMinutes * MINUTE_MS),
  escalatedBy: new Date(at.getTime() - repeatMinutes * MINUTE_MS),
});

/**
 * The escalation rule at an instant (issue 15): an alert routed to a team is due once it has waited
 * the team's escalateAfterMinutes since it occurred, and due again each repeatMinutes after its last
 * escalation. A removed team's alerts keep the default times, as escalationOf says.
 */
export function dueCutoffs(config: DutyTeams, at: Date): DueCutoffs {
  return {
    teams: config.teams.map((t) => ({ teamCode: t.code, ...dueBy(at, t.escalateAfterMinutes, t.repeatMinutes) })),
    otherTeams: dueBy(at, DEFAULT_ESCALATE_AFTER_MINUTES, DEFAULT_ESCALATE_AFTER_MINUTES),
  };
}

/** Whether a waiting alert is due by the cutoffs: the rule the escalation store's query applies, row by row. */
export function isDue(cutoffs: DueCutoffs, alert: Pick<WaitingAlert, 'body' | 'occurredAt' | 'escalatedAt'>): boolean {
  const by = cutoffs.teams.find((t) => t.teamCode === alert.body.routedTo.teamCode) ?? cutoffs.otherTeams;
  return alert.escalatedAt === null ? alert.occurredAt <= by.occurredBy : alert.escalatedAt <= by.escalatedBy;
}

/** What an escalation notification says (schemas/notification.schema.json, definitions/escalation), as stored. */
export type EscalationBody = NotificationBody & {
  routedTo: RoutedTo;
  escalates: { eventNumber: number; type: AlertType; occurredAt: string; routedTo: RoutedTo };
  /** 1 for the first escalation of the alert, 2 for its first repeat, and so on. */
  escalation: number;
  unacknowledgedMinutes: number;
};

/** An escalation ready to queue: the alert it repeats, and what it says. */
export type Escalation = { escalates: number; nhsNumber: string; body: EscalationBody };

// What the duty worker needs from the original to act without opening it: who looked, or who reported what.
const CARRIED: Record<AlertType, readonly string[]> = { access: ['accessedBy', 'detailsDiffer'], 'was-not-brought': ['reportedBy', 'appointment'] };

/**
 * The escalation of a due alert, to its team's escalation team: the original's child, plans and who
 * looked (or reported), whether it is out of hours now, and how long it has waited. Null when the LA
 * has no team left to escalate to (it removed its teams).
 */
export function escalationFor(organisation: Organisation, alert: WaitingAlert, at: Date): Escalation | null {
  const original = alert.body.routedTo;
  const escalation = escalationOf(organisation.dutyTeams ?? null, original);
  if (!escalation) return null;
  const carried = Object.fromEntries(CARRIED[alert.type].filter((k) => k in alert.body).map((k) => [k, alert.body[k]]));
  return {
    escalates: alert.eventNumber,
    nhsNumber: alert.nhsNumber,
    body: {
      subject: alert.body.subject,
      plan: alert.body.plan,
      plans: alert.body.plans,
      ...carried,
      outOfHours: contactNow(organisation, at).outOfHours,
      routedTo: escalation.to,
      escalates: { eventNumber: alert.eventNumber, type: alert.type, occurredAt: alert.occurredAt.toISOString(), routedTo: original },
      escalation: alert.escalations + 1,
      unacknowledgedMinutes: Math.max(0, Math.floor((at.getTime() - alert.occurredAt.getTime()) / MINUTE_MS)),
    },
  };
}
