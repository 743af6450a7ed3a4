import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4.d.ts';
import { fhirInstant } from './fhir-values.ts';

export type SearchsetInput = {
  /** Absolute base of the FHIR API, e.g. https://cpis.example/cpis/FHIR/R4 (a trailing slash is ignored). */
  baseUrl: string;
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
 * (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.total). A fullUrl is absolute and appears once (invariant
 * bdl-7, https://hl7.org/fhir/R4/bundle.html#invs), so a resource both matched and included is a match.
 */
export function toSearchsetBundle({ baseUrl, matches, total, includes = [], outcomes = [], at, links = [] }: SearchsetInput): Bundle {
  const base = baseUrl.replace(/\/+$/, '');
  const seen = new Set<string>();
  const matched = entriesOf(base, matches, 'match', seen);
  // An outcome is not a resource anyone can fetch: it has no fullUrl (Bundle.entry.fullUrl is 0..1).
  const warnings = outcomes.map((resource): BundleEntry => ({ resource, search: { mode: 'outcome' } }));
  const entry = [...matched, ...entriesOf(base, includes, 'include', seen), ...warnings];
  const instant = at ? fhirInstant(at) : undefined;
  return {
    resourceType: 'Bundle',
    ...(instant ? { meta: { lastUpdated: instant } } : {}),
    type: 'searchset',
    ...(instant ? { timestamp: instant } : {}),
    total: total ?? matched.length,
    ...(links.length ? { link: links.map((l) => ({ relation: l.relation, url: l.url })) } : {}),
    ...(entry.length ? { entry } : {}),
  };
}

function entriesOf(base: string, resources: readonly Resource[], mode: 'match' | 'include', seen: Set<string>): BundleEntry[] {
  const entries: BundleEntry[] = [];
  for (const resource of resources) {
    const fullUrl = `${base}/${resource.resourceType}/${idOf(resource)}`;
    if (seen.has(fullUrl)) continue;
    seen.add(fullUrl);
    entries.push({ fullUrl, resource, search: { mode } });
  }
  return entries;
}

function idOf(resource: Resource): string {
  if (!resource.id) throw new Error(`A ${resource.resourceType} in a searchset needs an id for its fullUrl`);
  return resource.id;
}
