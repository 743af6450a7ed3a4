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
};

