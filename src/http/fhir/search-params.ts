import type { LookupRequest } from '../../app/lookup-child.ts';
import { IDENTIFIER_SYSTEM } from './code-systems.ts';

const REQUIRED = `patient:identifier=${IDENTIFIER_SYSTEM.nhsNumber}|<NHS number> (or patient=<NHS number>) is required`;
/** Most matches one page may hold: a child has a handful of plans and at most 25 accesses are shown. */
export const MAX_COUNT = 100;

/** Search parameters as they arrive: from the query string, and for POST _search the form body too. */
export type RawParams = Record<string, string | string[] | undefined>;

/** A search as this server understood it (https://hl7.org/fhir/R4/search.html). */
export type ParsedSearch = {
  patient: LookupRequest['patient'];
  /** `_count`: at most this many matches on the page (0: only the total). */
  count: number | undefined;
  /** `_offset`: matches skipped, for the `next` and `previous` links this server writes. */
  offset: number;
  /** `_summary=count`: the total and no entries. */
  summaryCount: boolean;
  /** The parameters applied, as given, in the order given: exactly what the `self` link lists. */
  applied: [name: string, value: string][];
  /** A known parameter with a value this server cannot apply (always refused), or an unknown one under strict handling. */
  refusal?: { diagnostics: string; expression: string };
};

export type SearchOptions = {
  /** `Prefer: handling=strict`: unknown or unsupported parameters are refused rather than ignored (search.html#errors). */
  strict: boolean;
  /** `_include` and `_revinclude` values this search serves (their resources come back anyway). */
  includes: readonly string[];
  revIncludes: readonly string[];
};

const PATIENT_PARAMS = ['patient:identifier', 'patient'];

/** `Prefer: handling=strict` (or lenient, the default), per https://hl7.org/fhir/R4/search.html#errors. */
export function strictHandlingOf(prefer: string | undefined): boolean {
  return (prefer ?? '').split(/[;,]/).some((part) => part.trim().toLowerCase().replace(/\s+/g, '') === 'handling=strict');
}

/** The patient a search is about, from `patient:identifier` or `patient`; the NHS number itself is checked by the use case. */
function patientOf(params: RawParams): LookupRequest['patient'] {
  const given = PATIENT_PARAMS.flatMap((name) => (params[name] === undefined ? [] : [[name, params[name]] as const]));
  if (given.length === 0) return { ok: false, diagnostics: REQUIRED };
  const [name, value] = given[0] as readonly [string, string | string[]];
  if (given.length > 1 || Array.isArray(value)) return { ok: false, diagnostics: 'search one patient at a time: give patient:identifier or patient once' };
  if (name === 'patient:identifier') {
    const bar = value.indexOf('|');
    if (bar < 0) return { ok: true, value };
    if (value.slice(0, bar) !== IDENTIFIER_SYSTEM.nhsNumber) return { ok: false, diagnostics: `patient:identifier system must be ${IDENTIFIER_SYSTEM.nhsNumber}` };
    return { ok: true, value: value.slice(bar + 1) };
  }
  return { ok: true, value: value.replace(/^Patient\//, '') };
}

const wholeNumber = (value: string, max: number) => (/^\d{1,6}$/.test(value) && Number(value) <= max ? Number(value) : undefined);

/**
 * Reads a search's parameters. The patient parameters are always applied; `_count`, `_offset`,
 * `_summary=count`, `_format` and the served `_include`/`_revinclude` values are applied when
 * given. Anything else is ignored and left out of `self`, or refused under strict handling. The
 * diagnostics name this server's own parameters, and an unknown one by its position: neither its
 * name nor any value is repeated, since either may hold an NHS number.
 */
export function parseSearch(params: RawParams, options: SearchOptions): ParsedSearch {
  const applied: [string, string][] = [];
  const ignored: string[] = [];
  let refusal: ParsedSearch['refusal'];
  const refuse = (diagnostics: string, expression: string) => (refusal ??= { diagnostics, expression });
  let count: number | undefined;
  let offset = 0;
  let summaryCount = false;
  const patient = patientOf(params);

  for (const [index, [name, raw]] of Object.entries(params).entries()) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (PATIENT_PARAMS.includes(name)) {
      if (patient.ok) applied.push([name, values[0] as string]);
      continue;
    }
    if (name === '_count' || name === '_offset') {
      const max = name === '_count' ? MAX_COUNT : 10_000;
      const n = values.length === 1 ? wholeNumber(values[0] as string, max) : undefined;
      if (n === undefined) refuse(`${name} must be given once, as a whole number from 0 to ${max}`, name);
      else {
        if (name === '_count') count = n;
        else offset = n;
        applied.push([name, String(n)]);
      }
      continue;
    }
    if (name === '_summary') {
      if (values.length === 1 && values[0] === 'count') {
        summaryCount = true;
        applied.push([name, 'count']);
      } else if (values.length === 1 && values[0] === 'false') applied.push([name, 'false']);
      else if (options.strict) refuse('_summary: only count and false are supported', name);
      else ignored.push(name);
      continue;
    }
    if (name === '_format') {
      // Negotiated before the search runs (negotiation.ts): a _format that got this far is JSON.
      applied.push([name, values[0] as string]);
      continue;
    }
    if (name === '_include' || name === '_revinclude') {
      const served = name === '_include' ? options.includes : options.revIncludes;
      for (const value of values) {
        if (served.includes(value)) applied.push([name, value]);
        else if (options.strict) refuse(`${name}: this search serves ${served.join(', ') || 'none'}`, name);
        else ignored.push(name);
      }
      continue;
    }
    // Named by position, never by its name: a caller may put an NHS number in the name too (README, How refusals name what is wrong).
    if (options.strict) refuse(`search parameter ${index + 1} is not one this server knows; see the CapabilityStatement`, `parameter ${index + 1}`);
    else ignored.push(name);
  }
  if (refusal && !patient.ok) refusal = undefined; // the missing patient is the first thing to put right
  return { patient, count, offset, summaryCount, applied, ...(refusal ? { refusal } : {}) };
}

/** The search URL for the given parameters, as `self`, `next` and `previous` links write it. */
export function searchUrl(base: string, resourceType: string, params: readonly [string, string][]): string {
  const query = params.map(([name, value]) => `${encodeURIComponent(name).replace(/%3A/gi, ':')}=${encodeURIComponent(value)}`).join('&');
  return `${base}/${resourceType}${query ? `?${query}` : ''}`;
}

