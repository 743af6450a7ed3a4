import { londonDateOf, type IsoDate } from './dates.ts';
import type { Identity } from './identity.ts';
import type { VisiblePlan } from './lookup.ts';
import { checkNhsNumber } from './nhs-number.ts';
import { accessedByOf, alertsPerLa, type AccessedBy, type NotificationBody } from './notification.ts';
import type { Organisation } from './organisation.ts';
import { parseUkPhone, type Phone } from './uk-phone.ts';

/** The fields of a report, by which a refusal names what is wrong. */
export type NotBroughtField = 'nhsNumber' | 'appointmentStart' | 'appointmentEnd' | 'service' | 'callbackPhone';

/**
 * A clinician's report that a child on a plan (or, for an unborn-child plan, the mother) was not
 * brought to an appointment, as the caller sent it: nothing checked yet. `fields` says where each
 * value was in the caller's request (an expression in the caller's terms), for refusals to name it.
 */
export type NotBroughtInput = {
  nhsNumber: string;
  appointment: { start: string; end: string; service: string };
  callbackPhone: string;
  fields: Readonly<Record<NotBroughtField, string>>;
};

/** A report that passed its checks: the NHS number as 10 digits, the day of the appointment in England, a phone that dials. */
export type NotBroughtReport = {
  nhsNumber: string;
  appointment: { date: IsoDate; service: string };
  callbackPhone: Phone;
};

export type NotBroughtProblem = { field: NotBroughtField; message: string };

/**
 * Checks what a schema cannot: the NHS number (docs/domain.md §4), that the appointment ends after it
 * starts and has started by now (an appointment still to come cannot have been missed), and that the
 * call-back number is a UK number that can be dialled. Every problem, naming its field.
 */
export function checkNotBroughtReport(input: NotBroughtInput, at: Date): { ok: true; report: NotBroughtReport } | { ok: false; problems: NotBroughtProblem[] } {
  const problems: NotBroughtProblem[] = [];
  const nhs = checkNhsNumber(input.nhsNumber);
  if (!nhs.ok) problems.push({ field: 'nhsNumber', message: 'is not a valid NHS number' });
  const start = Date.parse(input.appointment.start);
  const end = Date.parse(input.appointment.end);
  if (Number.isNaN(start)) problems.push({ field: 'appointmentStart', message: 'is not an instant' });
  else if (start > at.getTime()) problems.push({ field: 'appointmentStart', message: 'is in the future: an appointment still to come cannot have been missed' });
  if (Number.isNaN(end)) problems.push({ field: 'appointmentEnd', message: 'is not an instant' });
  else if (!Number.isNaN(start) && end < start) problems.push({ field: 'appointmentEnd', message: 'is before the appointment starts' });
  const service = input.appointment.service.trim();
  if (service === '') problems.push({ field: 'service', message: 'names no service' });
  const phone = parseUkPhone(input.callbackPhone);
  if (!phone) problems.push({ field: 'callbackPhone', message: 'is not a valid UK phone number that can be dialled' });
  if (problems.length > 0 || !nhs.ok || !phone) return { ok: false, problems };
  return { ok: true, report: { nhsNumber: nhs.value, appointment: { date: londonDateOf(new Date(start)), service }, callbackPhone: phone } };
}

/** Who reported it: the clinician as an access names them, and the number to call them back on (national form). */
export type ReportedBy = AccessedBy & { callbackPhone: string };

/**
 * One `was-not-brought` notification per LA with a visible plan, each naming only that LA's plans and
 * routed as its access alerts are (routeAlert: the plan's team, else the team on duty now). The
 * subject is the person the plans name (personOf over every visible plan, as for an access).
 */
export function notBroughtNotifications(
  plans: readonly VisiblePlan[],
  organisations: readonly Organisation[],
  who: Identity,
  report: NotBroughtReport,
  at: Date,
): { laCode: string; body: NotificationBody }[] {
  const reportedBy: ReportedBy = { ...accessedByOf(who), callbackPhone: report.callbackPhone.national };
  return alertsPerLa(plans, organisations, at, () => ({ reportedBy, appointment: { ...report.appointment } }));
}
