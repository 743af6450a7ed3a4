import type { OrganisationView } from '../../app/manage-organisation.ts';
import type { Organisation } from '../../domain/organisation.ts';
import type { Phone } from '../../domain/uk-phone.ts';

/** A phone in both forms: national for people, E.164 for machines and tel: links. */
export const phoneBody = (p: Phone) => ({ national: p.national, e164: p.e164 });

/** An LA's name, phones and hours, as the LA API and the ops API both give them. */
export function contactDetailsBody(o: Organisation) {
  return {
    code: o.code,
    name: o.name,
    officeHoursPhone: o.officeHoursPhone?.national ?? null,
    edtPhone: o.edtPhone?.national ?? null,
    phones: { officeHours: o.officeHoursPhone && phoneBody(o.officeHoursPhone), edt: o.edtPhone && phoneBody(o.edtPhone) },
    officeHours: o.officeHours,
  };
}

/**
 * The JSON of GET and PUT /la/v1/organisation. `officeHoursPhone` and `edtPhone` are the national
 * form, for people (as PUT takes them); `phones` gives each in both forms, E.164 for machines and
 * tel: links. `now` is the service's own answer to "which number first?", so that no client has
 * to compute office hours: `until` is when it next changes (null: never).
 */
export function toOrganisationBody({ organisation: o, now }: OrganisationView) {
  return {
    ...contactDetailsBody(o),
    now: {
      at: now.at.toISOString(),
      outOfHours: now.outOfHours,
      callFirst: now.callFirst,
      reason: now.reason,
      bankHoliday: now.bankHoliday,
      until: now.until?.toISOString() ?? null,
    },
  };
}
