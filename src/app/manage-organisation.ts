import type { Identity } from '../domain/identity.ts';
import { DEFAULT_OFFICE_HOURS, type OfficeHours, type Organisation } from '../domain/organisation.ts';
import type { OrganisationStore } from '../ports.ts';

export type OrganisationUpdate = { name: string; officeHoursPhone: string; edtPhone: string; officeHours?: OfficeHours };

/** Reads the caller's own LA; an LA not yet known is shown with its token name and default hours. */
export function createGetOrganisation(deps: { organisations: OrganisationStore }) {
  return async function getOrganisation(identity: Identity): Promise<Organisation> {
    return (
      (await deps.organisations.get(identity.org)) ?? {
        code: identity.org,
        name: identity.orgName,
        officeHoursPhone: null,
        edtPhone: null,
        officeHours: DEFAULT_OFFICE_HOURS,
      }
    );
  };
}

/** Replaces the caller's own LA contact details; the LA code always comes from the token. */
export function createUpdateOrganisation(deps: { organisations: OrganisationStore }) {
  return async function updateOrganisation(identity: Identity, update: OrganisationUpdate): Promise<Organisation> {
    return deps.organisations.put({
      code: identity.org,
      name: update.name,
      officeHoursPhone: update.officeHoursPhone,
      edtPhone: update.edtPhone,
      officeHours: update.officeHours ?? DEFAULT_OFFICE_HOURS,
    });
  };
}
