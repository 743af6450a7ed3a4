import type { AuditEvent, AuditEventAgent } from 'fhir/r4.d.ts';
import type { AccessRecord } from '../../../domain/lookup.ts';
import { CPIS_EXTENSION, CPIS_SYSTEM, HL7_SYSTEM, IDENTIFIER_SYSTEM, UK_CORE_SYSTEM } from '../code-systems.ts';
import { metaProfile } from '../profiles.ts';
import { fhirId, fhirInstant, fhirText } from './fhir-values.ts';
import { patientReference } from './references.ts';

/**
 * One recorded access to a child's record, for the access history (docs/domain.md §5). UKCore-AuditEvent asks only
 * that agent be supported (see profiles.ts).
 */
export function toAuditEvent(access: AccessRecord, nhsNumber: string): AuditEvent {
  // A lookup is a FHIR search: a RESTful operation whose action is Execute
  // (https://hl7.org/fhir/R4/auditevent.html, https://hl7.org/fhir/R4/valueset-audit-event-action.html).
  return {
    resourceType: 'AuditEvent',
    id: fhirId(access.id),
    meta: { profile: metaProfile('AuditEvent') },
    type: { system: HL7_SYSTEM.auditEventType, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: HL7_SYSTEM.restfulInteraction, code: 'search-type', display: 'search type' }],
    action: 'E',
    recorded: fhirInstant(access.accessedAt),
    outcome: '0',
    agent: [userAgent(access), organisationAgent(access)],
    source: {
      observer: { display: 'CPIS child protection information sharing service' },
      type: [{ system: HL7_SYSTEM.auditSourceType, code: '4', display: 'Application Server' }],
    },
    entity: [
      {
        what: patientReference(nhsNumber),
        type: { system: HL7_SYSTEM.auditEntityType, code: '1', display: 'Person' },
        role: { system: HL7_SYSTEM.objectRole, code: '1', display: 'Patient' },
      },
    ],
  };
}

/** The person's identifier: their SDS user id when the token gave it, else the token's subject. */
function userIdentifier(access: AccessRecord) {
  const sds = fhirText(access.sdsUserId);
  if (sds) return { system: IDENTIFIER_SYSTEM.sdsUserId, value: sds };
  const id = fhirText(access.userId);
  return id ? { system: IDENTIFIER_SYSTEM.tokenSubject, value: id } : undefined;
}

/** Their national job role first (what an LA recognises), then the service role the token granted. */
function rolesOf(access: AccessRecord): AuditEventAgent['role'] {
  const roles = [];
  const job = access.jobRole;
  const jobName = fhirText(job?.name);
  if (job && fhirText(job.code)) {
    roles.push({ coding: [{ system: UK_CORE_SYSTEM.sdsJobRoleName, code: job.code, ...(jobName ? { display: jobName } : {}) }], ...(jobName ? { text: jobName } : {}) });
  }
  const role = fhirText(access.userRole);
  if (role) roles.push({ coding: [{ system: CPIS_SYSTEM.userRole, code: role }], text: role });
  return roles.length ? roles : undefined;
}

/** The person who looked the child up: the requestor. */
function userAgent(access: AccessRecord): AuditEventAgent {
  const identifier = userIdentifier(access);
  const name = fhirText(access.userName);
  const roles = rolesOf(access);
  const profile = fhirText(access.sdsRoleProfileId);
  return {
    ...(profile ? { extension: [{ url: CPIS_EXTENSION.sdsRoleProfile, valueIdentifier: { system: IDENTIFIER_SYSTEM.sdsRoleProfileId, value: profile } }] } : {}),
    who: { type: 'Practitioner', ...(identifier ? { identifier } : {}), ...(name ? { display: name } : {}) },
    ...(name ? { name } : {}),
    requestor: true,
    ...(roles ? { role: roles } : {}),
  };
}

/** The care setting the person worked in: its organisation and, when known, what kind of setting it is. */
function organisationAgent(access: AccessRecord): AuditEventAgent {
  const code = fhirText(access.organisationCode);
  const name = fhirText(access.organisationName);
  const setting = fhirText(access.setting);
  return {
    who: {
      type: 'Organization',
      ...(code ? { identifier: { system: IDENTIFIER_SYSTEM.odsCode, value: code } } : {}),
      ...(name ? { display: name } : {}),
    },
    requestor: false,
    ...(setting ? { role: [{ coding: [{ system: CPIS_SYSTEM.careSetting, code: setting }], text: setting }] } : {}),
  };
}
