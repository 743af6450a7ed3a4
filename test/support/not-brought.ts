import type { Appointment, Communication, PractitionerRole } from 'fhir/r4.d.ts';
import { NHS_SYSTEM } from './care-setting.ts';

export const NOT_BROUGHT_CATEGORY = 'https://fhir.cpis.example/CodeSystem/communication-category';
const HOUR = 3_600_000;

/**
 * The Communication a care-setting system sends to say that the person with this NHS number was not
 * brought to an appointment (POST /cpis/FHIR/R4/Communication): a clinic two hours ago unless told otherwise.
 */
export function notBroughtReport(nhsNumber: string, options: { phone?: string; start?: Date; service?: string } = {}) {
  const start = options.start ?? new Date(Date.now() - 2 * HOUR);
  const appointment: Appointment = {
    resourceType: 'Appointment', id: 'appt', status: 'noshow',
    start: start.toISOString(), end: new Date(start.getTime() + HOUR / 2).toISOString(),
    serviceType: [{ text: options.service ?? 'Paediatric audiology' }],
    participant: [{ actor: { type: 'Patient', identifier: { system: NHS_SYSTEM, value: nhsNumber } }, status: 'accepted' }],
  };
  const role: PractitionerRole = { resourceType: 'PractitionerRole', id: 'reporter', telecom: [{ system: 'phone', value: options.phone ?? '0113 496 0777', use: 'work' }] };
  return {
    resourceType: 'Communication' as const,
    status: 'completed' as const,
    category: [{ coding: [{ system: NOT_BROUGHT_CATEGORY, code: 'was-not-brought', display: 'Was not brought to an appointment' }] }],
    subject: { identifier: { system: NHS_SYSTEM, value: nhsNumber } },
    sent: new Date().toISOString(),
    about: [{ reference: '#appt' }],
    sender: { reference: '#reporter' },
    contained: [appointment, role] as [Appointment, PractitionerRole],
  } satisfies Communication;
}

/** A POST of a Communication as application/fhir+json. */
export const fhirJsonPost = (body: unknown): RequestInit => ({
  method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body),
});
