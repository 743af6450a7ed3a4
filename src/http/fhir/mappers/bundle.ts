import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4.d.ts';
import { fhirInstant } from './fhir-values.ts';

export type SearchsetInput = {
  /** What the search found, on this page. */
  matches: readonly Resource[];
  /** Every match of the search, on all pages (default: the matches given). */
  total?: number;
  /** Resources the matches refer to (Patient, Organization): never counted. */
  includes?: readonly Resource[];
  /** Warnings about the search to show with it (search.mode `outcome`): never counted. */
  outcomes?: readonly OperationOutcome[];
  /** When the search ran: becomes `timestamp` and `meta.lastUpdated`. */
  at?: Date;
  /** `self` (the search as understood: https://hl7.org/fhir/R4/search.html#conformance), `next`, `previous`. */
  links?: readonly { relation: 'self' | 'next' | 'previous'; url: string }[];
};

/**
 * A searchset Bundle (https://hl7.org/fhir/R4/bundle.html#searchset). `total` counts matches only
 * (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.total).
 *
 * No resource of the facade can be read on its own (README, "Search as FHIR R4 defines it"): a read by
 * id would let the register of flagged children be walked id by id. So every entry's fullUrl is a
 * `urn:uuid:`, new with each answer, and references between the entries are rewritten to those
 * fullUrls, which is how a Bundle resolves them (https://hl7.org/fhir/R4/bundle.html#references).
 * Each reference keeps its business identifier (NHS number, ODS code). A fullUrl appears once
 * (invariant bdl-7), so a resource both matched and included is a match.
 */
export function toSearchsetBundle({ matches, total, includes = [], outcomes = [], at, links = [] }: SearchsetInput): Bundle {
  const fullUrls = new Map<string, string>();
  const entries: BundleEntry[] = [];
  const add = (resource: Resource, mode: 'match' | 'include') => {
    const key = `${resource.resourceType}/${idOf(resource)}`;
    if (fullUrls.has(key)) return;
    const fullUrl = `urn:uuid:${randomUUID()}`;
    fullUrls.set(key, fullUrl);
    entries.push({ fullUrl, resource, search: { mode } });
  };
  for (const resource of matches) add(resource, 'match');
  const matched = entries.length;
  for (const resource of includes) add(resource, 'include');
  for (const entry of entries) entry.resource = withBundleReferences(entry.resource as Resource, fullUrls);
  // An outcome is not a resource anyone can fetch: it has no fullUrl (Bundle.entry.fullUrl is 0..1).
  const warnings = outcomes.map((resource): BundleEntry => ({ resource, search: { mode: 'outcome' } }));
  const entry = [...entries, ...warnings];
  const instant = at ? fhirInstant(at) : undefined;
  return {
    resourceType: 'Bundle',
    ...(instant ? { meta: { lastUpdated: instant } } : {}),
    type: 'searchset',
    ...(instant ? { timestamp: instant } : {}),
    total: total ?? matched,
    ...(links.length ? { link: links.map((l) => ({ relation: l.relation, url: l.url })) } : {}),
    ...(entry.length ? { entry } : {}),
  };
}

/** A copy of the resource whose `reference`s to entries of the Bundle name their fullUrls. */
function withBundleReferences<T>(value: T, fullUrls: ReadonlyMap<string, string>): T {
  if (Array.isArray(value)) return value.map((v) => withBundleReferences(v, fullUrls)) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    copy[key] = key === 'reference' && typeof v === 'string' && fullUrls.has(v) ? fullUrls.get(v) : withBundleReferences(v, fullUrls);
  }
  return copy as T;
}

function idOf(resource: Resource): string {
  if (!resource.id) throw new Error(`A ${resource.resourceType} in a searchset needs an id`);
  return resource.id;
}
