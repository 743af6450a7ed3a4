import type { DutyTeams } from './duty-teams.ts';
import type { OfficeHours } from './office-hours.ts';
import type { Phone } from './uk-phone.ts';

/** A local authority as care settings and its own workers see it. */
export type Organisation = {
  code: string;
  name: string;
  officeHoursPhone: Phone | null;
  /** Emergency Duty Team, out of hours: the number that matters most at 2 a.m. */
  edtPhone: Phone | null;
  officeHours: OfficeHours;
  /** Its duty teams and routing rules (PUT /la/v1/duty-teams); absent or null: none set, every worker sees every alert. */
  dutyTeams?: DutyTeams | null;
};


/** The stable code an LA system can act on when its batch is refused for want of phone numbers. */
export const LA_CONTACT_MISSING = 'LA_CONTACT_MISSING';

/** The phones an LA must set before it may publish (issue 11: a flag must give a number that answers). */
export const CONTACT_FIELDS = ['officeHoursPhone', 'edtPhone'] as const;

/** Which of the two phones the LA lacks; an LA not yet known lacks both. */
export function missingContact(organisation: Organisation | undefined): (typeof CONTACT_FIELDS)[number][] {
  return CONTACT_FIELDS.filter((field) => !organisation?.[field]);
}
