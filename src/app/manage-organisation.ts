import { invalidRequest, type Issue } from '../domain/app-error.ts';
import { contactNow, nextChangeAfter, type ContactNow } from '../domain/contact-now.ts';
import type { Identity } from '../domain/identity.ts';
import { DEFAULT_OFFICE_HOURS, officeHoursFrom, type OfficeHours, type OfficeHoursInput } from '../domain/office-hours.ts';
import type { Organisation } from '../domain/organisation.ts';
import { parseUkPhone, type Phone } from '../domain/uk-phone.ts';
import type { Clock, OrganisationStore } from '../ports.ts';

/** A PUT body that passed its schema (schemas/organisation.schema.json). */
export type OrganisationUpdate = { name: string; officeHoursPhone: string; edtPhone: string; officeHours?: OfficeHoursInput };

/** The LA as held, and the service's answer now: which number to ring first, why, and until when. */
export type OrganisationView = { organisation: Organisation; now: ContactNow & { at: Date; until: Date | null } };

function viewAt(organisation: Organisation, at: Date): OrganisationView {
  return { organisation, now: { ...contactNow(organisation, at), at, until: nextChangeAfter(organisation, at) } };
}

/** Reads the caller's own LA; an LA not yet known is shown with its token name, no phones and default hours. */
export function createGetOrganisation(deps: { organisations: OrganisationStore; clock: Clock }) {
  return async function getOrganisation(identity: Identity): Promise<OrganisationView> {
    const organisation = (await deps.organisations.get(identity.org)) ?? {
      code: identity.org,
      name: identity.orgName,
      officeHoursPhone: null,
      edtPhone: null,
      officeHours: DEFAULT_OFFICE_HOURS,
    };
    return viewAt(organisation, deps.clock.now());
  };
}

const phoneIssue = (field: string): Issue => ({
  diagnostics: `${field} is not a valid UK phone number: give a number that can be dialled, e.g. 0113 496 0999 or +44 113 496 0999, with no extension`,
  expression: [field],
});

/** Both phones as valid UK numbers, and the hours with opens before closes; else every problem, naming its field (also for the ops registry). */
export function checkedContact(update: OrganisationUpdate): { officeHoursPhone: Phone; edtPhone: Phone; officeHours: OfficeHours } {
  const officeHoursPhone = parseUkPhone(update.officeHoursPhone);
  const edtPhone = parseUkPhone(update.edtPhone);
  const hours = officeHoursFrom(update.officeHours ?? DEFAULT_OFFICE_HOURS);
  const issues: Issue[] = [
    ...(officeHoursPhone ? [] : [phoneIssue('officeHoursPhone')]),
    ...(edtPhone ? [] : [phoneIssue('edtPhone')]),
    ...(hours.ok ? [] : hours.problems.map((p) => ({ diagnostics: p.message, expression: p.fields }))),
  ];
  if (!officeHoursPhone || !edtPhone || !hours.ok) throw invalidRequest(issues, 'value');
  return { officeHoursPhone, edtPhone, officeHours: hours.hours };
}

/** Replaces the caller's own LA contact details; the LA code always comes from the token. Neither phone can be cleared. */
export function createUpdateOrganisation(deps: { organisations: OrganisationStore; clock: Clock }) {
  return async function updateOrganisation(identity: Identity, update: OrganisationUpdate): Promise<OrganisationView> {
    const checked = checkedContact(update);
    const organisation = await deps.organisations.put({ code: identity.org, name: update.name, ...checked });
    return viewAt(organisation, deps.clock.now());
  };
}
