import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.d.ts';
import { fhirInstant } from './mappers/fhir-values.ts';
import { PROFILES, SUPPORTED_PROFILES } from './profiles.ts';

/** A search row of the interactions table: what a client may search for of one resource type. */
export type FhirSearchInteraction = {
  resourceType: 'CareTeam' | 'Flag' | 'AuditEvent';
  interaction: 'search-type';
  searchParams: readonly { name: string; type: 'reference' | 'token' | 'number'; documentation: string }[];
  documentation: string;
  /** `_include` values served: the resources they name always come back with the matches. */
  includes: readonly string[];
  /** `_revinclude` values served, likewise. */
  revIncludes: readonly string[];
};

/** A create row: a resource type a client may POST, and the profile what it sends must meet. */
export type FhirCreateInteraction = {
  resourceType: 'Communication';
  interaction: 'create';
  /** The profile the accepted resource meets; its shape in full is a JSON Schema of schemas/. */
  profile: string;
  documentation: string;
};

/** One row of the interactions table: what a client may ask of one resource type. */
export type FhirInteraction = FhirSearchInteraction | FhirCreateInteraction;

export type CapabilityOptions = {
  /** Absolute base of the FHIR API, e.g. https://cpis.example/cpis/FHIR/R4. */
  baseUrl: string;
  software: { name: string; version: string };
  /** When this statement was issued (CapabilityStatement.date is required). */
  at: Date;
  /** Whether browsers of other origins may call the API (CORS_ORIGINS is set). */
  cors: boolean;
};

const SECURITY =
  'Every request but GET /metadata needs Authorization: Bearer <JWT> (an OAuth 2.0 bearer token, RFC 6750) signed by a trusted issuer. ' +
  'Only the clinician role may search. Header IsUnscheduledAccessEvent: true|false says what kind of read it is ' +
  '(absent means true): an unscheduled read needs activity B0107, records the access and notifies the LA; ' +
  'a scheduled (silent) read needs B0170 or B0107 and records nothing in the history. ' +
  'Only the clinician role may create a Communication (a child not brought to an appointment), with B0170 or B0107; it records no access.';

/**
 * What this server does, derived from the same interactions table that routes the requests, so the two
 * cannot drift (https://hl7.org/fhir/R4/capabilitystatement.html; kind "instance" describes this deployment).
 */
export function toCapabilityStatement(interactions: readonly FhirInteraction[], options: CapabilityOptions): CapabilityStatement {
  const resource = resourcesOf(interactions);
  return {
    resourceType: 'CapabilityStatement',
    name: 'CpisCapabilityStatement',
    title: 'Child protection information sharing: FHIR R4 query API',
    status: 'active',
    date: fhirInstant(options.at),
    kind: 'instance',
    software: { name: options.software.name, version: options.software.version },
    implementation: { description: 'Child protection information sharing for care settings', url: options.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Searches, and one create (a Communication telling the LAs a child was not brought to an appointment). ' +
          'No resource is readable on its own, so that the register of flagged children cannot be walked by id: ' +
          'each Bundle entry has a urn:uuid fullUrl, new with every answer, and references between entries name those fullUrls; ' +
          'every reference also carries its business identifier (NHS number, ODS code).',
        security: {
          cors: options.cors,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth', display: 'OAuth' }] }],
          description: SECURITY,
        },
        ...(resource.length ? { resource } : {}),
      },
    ],
  };
}

// Rows for one resource type are merged into one entry, keeping the table's order.
function resourcesOf(interactions: readonly FhirInteraction[]): CapabilityStatementRestResource[] {
  const byType = new Map<string, CapabilityStatementRestResource>();
  for (const row of interactions) {
    if (row.interaction === 'create') {
      const entry = byType.get(row.resourceType) ?? { type: row.resourceType, profile: row.profile };
      byType.set(row.resourceType, { ...entry, interaction: [...(entry.interaction ?? []), { code: 'create', documentation: row.documentation }] });
      continue;
    }
    // The base profile each type meets, and every profile its resources claim in meta.profile (profiles.ts).
    const entry = byType.get(row.resourceType) ?? { type: row.resourceType, profile: PROFILES[row.resourceType], supportedProfile: [...SUPPORTED_PROFILES[row.resourceType]] };
    byType.set(row.resourceType, {
      ...entry,
      interaction: [...(entry.interaction ?? []), { code: row.interaction, documentation: `${row.documentation} By GET [type]?… or POST [type]/_search with a form body.` }],
      ...withSearchParams(entry, row),
      ...listOf('searchInclude', [...(entry.searchInclude ?? []), ...row.includes]),
      ...listOf('searchRevInclude', [...(entry.searchRevInclude ?? []), ...row.revIncludes]),
    });
  }
  return [...byType.values()];
}

const listOf = <K extends 'searchInclude' | 'searchRevInclude'>(key: K, values: string[]) =>
  (values.length ? { [key]: [...new Set(values)] } : {}) as Partial<Record<K, string[]>>;

function withSearchParams(entry: CapabilityStatementRestResource, row: FhirSearchInteraction): Pick<CapabilityStatementRestResource, 'searchParam'> {
  const known = entry.searchParam ?? [];
  const added = row.searchParams
    .filter((p) => !known.some((k) => k.name === p.name))
    .map((p) => ({ name: p.name, type: p.type, documentation: p.documentation }));
  const searchParam = [...known, ...added];
  return searchParam.length ? { searchParam } : {};
}
