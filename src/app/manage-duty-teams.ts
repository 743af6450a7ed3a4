import { businessRuleFailed, invalidRequest } from '../domain/app-error.ts';
import { dutyTeamsFrom, type DutyTeams, type DutyTeamsInput } from '../domain/duty-teams.ts';
import type { Identity } from '../domain/identity.ts';
import type { OrganisationStore } from '../ports.ts';

/** The caller's own LA's duty teams and routing rules; null when it has set none. */
export function createGetDutyTeams(deps: { organisations: OrganisationStore }) {
  return async function getDutyTeams(identity: Identity): Promise<DutyTeams | null> {
    return (await deps.organisations.get(identity.org))?.dutyTeams ?? null;
  };
}

/**
 * Replaces (or, given null, clears) the caller's own LA's duty teams and routing rules. Alerts
 * created from now on follow them; those already created keep the team they were routed to.
 */
export function createPutDutyTeams(deps: { organisations: OrganisationStore }) {
  return async function putDutyTeams(identity: Identity, input: DutyTeamsInput | null): Promise<DutyTeams | null> {
    let value: DutyTeams | null = null;
    if (input) {
      const checked = dutyTeamsFrom(input);
      if (!checked.ok) throw invalidRequest(checked.problems.map((p) => ({ diagnostics: p.message, expression: [p.field] })), 'value');
      value = checked.value;
    }
    if (!(await deps.organisations.putDutyTeams(identity.org, value)))
      throw businessRuleFailed('LA_CONTACT_MISSING: set the LA\'s contact details with PUT /la/v1/organisation before its duty teams; nothing was changed');
    return value;
  };
}
