import type { Appointment, Communication, OperationOutcome, PractitionerRole, Reference } from 'fhir/r4.d.ts';
import type { Issue } from '../../../domain/app-error.ts';
import type { NotBroughtInput } from '../../../domain/not-brought.ts';
import type { NotBroughtOutcome } from '../../../app/report-not-brought.ts';
import { IDENTIFIER_SYSTEM } from '../code-systems.ts';
import { fhirInstant } from './fhir-values.ts';
import { metaProfile } from '../profiles.ts';

/** A Communication that passed schemas/was-not-brought-communication.schema.json. */
export type NotBroughtCommunication = Communication & {
  subject: { identifier: { system: string; value: string } };
  about: [{ reference: string }];
  sender: { reference: string };
  contained: (Appointment | PractitionerRole)[];
};

const isAppointment = (r: Appointment | PractitionerRole): r is Appointment => r.resourceType === 'Appointment';

/** The service an appointment was with: its first serviceType's text, else the display of its first coding that has one. */
const serviceOf = (a: Appointment) => {
  const first = a.serviceType?.[0];
  return first?.text ?? first?.coding?.find((c) => c.display)?.display;
};

/**
 * The report a Communication makes, or why it makes none: what the schema cannot say (one Appointment
 * and one PractitionerRole, each referenced from where it belongs, and a service named). Every
 * problem names its field, as the schema's do (contained.0.start), never a value.
 */
export function toNotBroughtInput(c: NotBroughtCommunication): { ok: true; value: NotBroughtInput } | { ok: false; issues: Issue[] } {
  const appointments = c.contained.filter(isAppointment);
  const roles = c.contained.filter((r): r is PractitionerRole => r.resourceType === 'PractitionerRole');
  const [appointment] = appointments;
  const [role] = roles;
  if (!appointment || !role)
    return { ok: false, issues: [{ diagnostics: 'contained must hold one Appointment and one PractitionerRole', expression: ['contained'] }] };
  const at = c.contained.indexOf(appointment);
  const by = c.contained.indexOf(role);
  const issues: Issue[] = [];
  if (c.about[0].reference !== `#${appointment.id}`) issues.push({ diagnostics: 'about.0.reference must be # and the id of the contained Appointment', expression: ['about.0.reference'] });
  if (c.sender.reference !== `#${role.id}`) issues.push({ diagnostics: 'sender.reference must be # and the id of the contained PractitionerRole', expression: ['sender.reference'] });
  const service = serviceOf(appointment);
  if (!service) issues.push({ diagnostics: `contained.${at}.serviceType.0 names no service: give its text, or a coding with a display`, expression: [`contained.${at}.serviceType.0`] });
  const phoneAt = (role.telecom ?? []).findIndex((t) => t.system === 'phone');
  if (issues.length > 0 || !service) return { ok: false, issues };
  return {
    ok: true,
    value: {
      nhsNumber: c.subject.identifier.value,
      appointment: { start: appointment.start as string, end: appointment.end as string, service },
      callbackPhone: role.telecom?.[phoneAt]?.value as string,
      fields: {
        nhsNumber: 'subject.identifier.value',
        appointmentStart: `contained.${at}.start`,
        appointmentEnd: `contained.${at}.end`,
        service: `contained.${at}.serviceType.0`,
        callbackPhone: `contained.${by}.telecom.${phoneAt}.value`,
      },
    },
  };
}

const recipientOf = (la: NotBroughtOutcome['told'][number]): Reference => ({
  type: 'Organization', identifier: { system: IDENTIFIER_SYSTEM.odsCode, value: la.code }, display: la.name,
});

/**
 * The Communication as the service holds it (Prefer: return=representation, the default): the caller's,
 * with the service's id and version, the NHS number as 10 digits, and in `recipient` each LA told.
 * Told no one (no visible plan), it is `not-done`, and says why in statusReason.
 */
export function toAcceptedCommunication(c: NotBroughtCommunication, outcome: NotBroughtOutcome): Communication {
  const { id: _ignored, ...sent } = c;
  const told = outcome.told.length > 0;
  return {
    ...sent,
    id: outcome.id,
    meta: { versionId: '1', lastUpdated: fhirInstant(outcome.at) },
    subject: { ...c.subject, identifier: { ...c.subject.identifier, value: outcome.nhsNumber } },
    status: told ? 'completed' : 'not-done',
    ...(told ? { recipient: outcome.told.map(recipientOf) } : { statusReason: { text: NOBODY_TOLD } }),
  };
}

const NOBODY_TOLD =
  'No local authority holds a visible child protection plan for this NHS number, so none was told. ' +
  'Follow your own was-not-brought procedure.';

/** The answer under Prefer: return=OperationOutcome: how many LAs were told, and which (codes and names, never the child). */
export function toNotBroughtOutcome(outcome: NotBroughtOutcome): OperationOutcome {
  const names = outcome.told.map((la) => `${la.name} (${la.code})`).join(', ');
  const n = outcome.told.length;
  return {
    resourceType: 'OperationOutcome',
    meta: { profile: metaProfile('OperationOutcome') },
    issue: [
      n > 0
        ? { severity: 'information', code: 'informational', diagnostics: `Communication/${outcome.id}: ${n} local ${n === 1 ? 'authority was' : 'authorities were'} told: ${names}.`, expression: ['Communication.recipient'] }
        : { severity: 'warning', code: 'informational', diagnostics: `Communication/${outcome.id}: ${NOBODY_TOLD}`, expression: ['Communication.statusReason'] },
    ],
  };
}
