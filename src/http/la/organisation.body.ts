import type { OrganisationView } from '../../app/manage-organisation.ts';
import type { Phone } from '../../domain/uk-phone.ts';

/**
 * The JSON of GET and PUT /la/v1/organisation. `officeHoursPhone` and `edtPhone` are the national
 * form, for people (as PUT takes them); `phones` gives each in both forms, E.164 for machines and
 * tel: links. `now` is the service's own answer to "which number first?", so that no client has
 * to compute office hours: `until` is when it next changes (null: never).
 */
export function toOrganisationBody({ organisation: o, now }: OrganisationView) {
  const both = (p: Phone | null) => (p ? { national: p.national, e164: p.e164 } : null);
  return {
    code: o.code,
    name: o.name,
    officeHoursPhone: o.officeHoursPhone?.national ?? null,
    edtPhone: o.edtPhone?.national ?? null,
    phones: { officeHours: both(o.officeHoursPhone), edt: both(o.edtPhone) },
    officeHours: o.officeHours,
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
