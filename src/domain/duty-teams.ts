import { contactNow } from './contact-now.ts';
import type { OfficeHours } from './office-hours.ts';
import { parseUkPhone, type Phone } from './uk-phone.ts';

/** A duty team's code, as schemas/upload-record.schema.json (teamCode) has it. */
export const TEAM_CODE = /^[A-Z0-9][A-Z0-9-]{0,19}$/;

/** How long an alert may stay unacknowledged before it escalates, and how often it repeats after, unless the LA says otherwise. */
export const DEFAULT_ESCALATE_AFTER_MINUTES = 15;

/** One of an LA's duty teams: who is told, which number reaches them, and where an unanswered alert goes. */
export type DutyTeam = {
  code: string;
  name: string;
  phone: Phone;
  /** Minutes an alert routed here may stay unacknowledged before it escalates. */
  escalateAfterMinutes: number;
  /** The team an unanswered alert escalates to: this team itself when the LA names none. */
  escalateTo: string;
  /** Minutes between repeated escalations of an alert still unacknowledged. */
  repeatMinutes: number;
};

/** Which team is told: in office hours, out of hours (and bank holidays), and whether a plan's own team comes first. */
export type RoutingRules = { inHours: string; outOfHours: string; byPlanTeam: boolean };

/** An LA's duty teams and routing rules (PUT /la/v1/duty-teams). */
export type DutyTeams = { teams: DutyTeam[]; routing: RoutingRules };

/** Why a notification went to its team. */
export type RouteReason = 'plan-team' | 'in-hours' | 'out-of-hours' | 'escalation';

/** The team a notification was routed to, and why (schemas/notification.schema.json, routedTo). */
export type RoutedTo = { teamCode: string; teamName: string; teamPhone: string; reason: RouteReason };

/** A PUT body that passed its schema (schemas/duty-teams.schema.json). */
export type DutyTeamsInput = {
  teams: { code: string; name: string; phone: string; escalateAfterMinutes?: number; escalateTo?: string; repeatMinutes?: number }[];
  routing: { inHours: string; outOfHours: string; byPlanTeam?: boolean };
};

export type DutyTeamsProblem = { message: string; field: string };

/**
 * Checks what the schema cannot: phones that dial, codes that are unique, and every team named by a
 * rule or an escalation defined. Every problem, naming its field.
 */
export function dutyTeamsFrom(input: DutyTeamsInput): { ok: true; value: DutyTeams } | { ok: false; problems: DutyTeamsProblem[] } {
  const problems: DutyTeamsProblem[] = [];
  const codes = new Set<string>();
  const teams: DutyTeam[] = [];
  input.teams.forEach((t, i) => {
    if (codes.has(t.code)) problems.push({ message: `team code ${t.code} is given twice`, field: `teams/${i}/code` });
    codes.add(t.code);
    const phone = parseUkPhone(t.phone);
    if (!phone) problems.push({ message: 'phone is not a valid UK phone number that can be dialled', field: `teams/${i}/phone` });
    const escalateAfterMinutes = t.escalateAfterMinutes ?? DEFAULT_ESCALATE_AFTER_MINUTES;
    teams.push({
      code: t.code, name: t.name, phone: phone ?? { national: t.phone, e164: t.phone }, escalateAfterMinutes,
      escalateTo: t.escalateTo ?? t.code, repeatMinutes: t.repeatMinutes ?? escalateAfterMinutes,
    });
  });
  teams.forEach((t, i) => {
    if (!codes.has(t.escalateTo)) problems.push({ message: `escalateTo names team ${t.escalateTo}, which is not defined`, field: `teams/${i}/escalateTo` });
  });
  for (const rule of ['inHours', 'outOfHours'] as const) {
    if (!codes.has(input.routing[rule])) problems.push({ message: `routing.${rule} names team ${input.routing[rule]}, which is not defined`, field: `routing/${rule}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { teams, routing: { inHours: input.routing.inHours, outOfHours: input.routing.outOfHours, byPlanTeam: input.routing.byPlanTeam ?? false } } };
}

const routed = (team: DutyTeam, reason: RouteReason): RoutedTo => ({ teamCode: team.code, teamName: team.name, teamPhone: team.phone.national, reason });

/**
 * The team an alert about a child goes to: the plan's own team when the LA routes by it and defines
 * that team; else the day team in office hours and the out-of-hours team otherwise, by the same rule
 * as the number a clinician is told to ring first (contactNow: bank holidays are out of hours).
 * Null when the LA has set no teams: every worker of the LA sees it, as before routing existed.
 */
export function routeAlert(
  organisation: { officeHours: OfficeHours; dutyTeams?: DutyTeams | null },
  planTeam: string | null,
  at: Date,
): RoutedTo | null {
  const config = organisation.dutyTeams;
  if (!config) return null;
  const team = (code: string) => config.teams.find((t) => t.code === code);
  const own = config.routing.byPlanTeam && planTeam ? team(planTeam) : undefined;
  if (own) return routed(own, 'plan-team');
  const outOfHours = contactNow(organisation, at).outOfHours;
  const chosen = team(outOfHours ? config.routing.outOfHours : config.routing.inHours);
  return chosen ? routed(chosen, outOfHours ? 'out-of-hours' : 'in-hours') : null;
}

/**
 * When and where an unanswered alert routed to a team escalates. A team the LA has since removed
 * still escalates, after the default time, to the out-of-hours team: an alert must not go quiet
 * because its team was renamed. Null when it was routed to no team (the LA set none).
 */
export function escalationOf(config: DutyTeams | null, routedTo: { teamCode: string } | null): { afterMinutes: number; repeatMinutes: number; to: RoutedTo } | null {
  if (!config || !routedTo) return null;
  const team = (code: string) => config.teams.find((t) => t.code === code);
  const from = team(routedTo.teamCode);
  const to = team(from?.escalateTo ?? config.routing.outOfHours);
  if (!to) return null;
  return {
    afterMinutes: from?.escalateAfterMinutes ?? DEFAULT_ESCALATE_AFTER_MINUTES,
    repeatMinutes: from?.repeatMinutes ?? DEFAULT_ESCALATE_AFTER_MINUTES,
    to: routed(to, 'escalation'),
  };
}
