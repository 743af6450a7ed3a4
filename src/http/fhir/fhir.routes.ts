import express, { Router, type Request, type RequestHandler } from 'express';
import { methodNotAllowed, unsupportedMediaType } from '../../domain/app-error.ts';
import { ROLES } from '../../domain/identity.ts';
import type { ValidateFunction } from 'ajv';
import type { createLookupChild } from '../../app/lookup-child.ts';
import type { createReportNotBrought } from '../../app/report-not-brought.ts';
import type { Authenticate } from '../authenticate.ts';
import { toCapabilityStatement, type FhirCreateInteraction } from './capability-statement.ts';
import { FHIR_CREATES, FHIR_INTERACTIONS, FHIR_SEARCHES, type FhirSearch } from './interactions.ts';
import { toSearchsetBundle } from './mappers/bundle.ts';
import type { NotBroughtCommunication } from './mappers/communication.mapper.ts';
import { fhirJsonBody, negotiate, sendFhir } from './negotiation.ts';
import { notBroughtHandler } from './not-brought.handler.ts';
import { parseSearch, searchUrl, strictHandlingOf, type RawParams } from './search-params.ts';

export const FHIR_BASE_PATH = '/cpis/FHIR/R4';
const FORM = 'application/x-www-form-urlencoded';

/** Answers every other method on a known path with 405 and the methods it takes; OPTIONS with just those. */
const onlyMethods = (allow: readonly string[]): RequestHandler => (req, res) => {
  if (req.method === 'OPTIONS') return void res.set('Allow', allow.join(', ')).status(204).end();
  throw methodNotAllowed(req.method, allow);
};

/**
 * The /cpis/FHIR/R4 facade: metadata (open); for each row of FHIR_SEARCHES the search by GET and
 * by POST [type]/_search (https://hl7.org/fhir/R4/http.html#search), which keeps the NHS number out of
 * URLs and the logs of proxies on the way; and for each row of FHIR_CREATES the create by POST [type].
 * Paths are matched case-sensitively, as FHIR's are.
 */
export function fhirRouter(deps: {
  authenticate: Authenticate;
  lookupChild: ReturnType<typeof createLookupChild>;
  reportNotBrought: ReturnType<typeof createReportNotBrought>;
  validateCommunication: ValidateFunction<NotBroughtCommunication>;
  publicBaseUrl: string;
  software: { name: string; version: string };
  corsOrigins: readonly string[];
  /** The largest form (POST _search) or resource (create) body read. */
  bodyMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const baseUrlOf = (req: Request) => (deps.publicBaseUrl ? `${deps.publicBaseUrl}${FHIR_BASE_PATH}` : `${req.protocol}://${req.get('host')}${FHIR_BASE_PATH}`);

  router.get('/metadata', negotiate, (req, res) => {
    sendFhir(res, toCapabilityStatement(FHIR_INTERACTIONS, { baseUrl: baseUrlOf(req), software: deps.software, at: new Date(), cors: deps.corsOrigins.length > 0 }));
  });
  router.all('/metadata', onlyMethods(['GET']));

  // Any role may reach a search or a create; the access rules (and their audit) belong to the use case.
  const anyone = deps.authenticate(ROLES);
  const form = express.urlencoded({ extended: false, limit: deps.bodyMaxBytes, type: () => true });
  const formOnly: RequestHandler = (req, _res, next) => {
    if (!req.is(FORM)) throw unsupportedMediaType(`POST _search takes ${FORM}`);
    next();
  };
  for (const search of FHIR_SEARCHES) {
    const run = searchHandler(search, deps, baseUrlOf);
    router.get(`/${search.resourceType}`, anyone, negotiate, (req, res) => run(req, res, req.query as RawParams));
    // Parameters in the URL and in the body count alike (search.html#Introduction).
    router.post(`/${search.resourceType}/_search`, anyone, negotiate, formOnly, form, (req, res) =>
      run(req, res, mergeParams(req.query as RawParams, (req.body ?? {}) as RawParams)));
    router.all(`/${search.resourceType}`, onlyMethods(['GET']));
    router.all(`/${search.resourceType}/_search`, onlyMethods(['POST']));
  }
  const creates: Record<FhirCreateInteraction['resourceType'], RequestHandler> = {
    Communication: notBroughtHandler({ reportNotBrought: deps.reportNotBrought, validate: deps.validateCommunication, baseUrlOf }),
  };
  for (const create of FHIR_CREATES) {
    router.post(`/${create.resourceType}`, anyone, negotiate, ...fhirJsonBody(deps.bodyMaxBytes), creates[create.resourceType]);
    router.all(`/${create.resourceType}`, onlyMethods(['POST']));
  }
  return router;
}

function mergeParams(a: RawParams, b: RawParams): RawParams {
  const merged: RawParams = { ...a };
  for (const [name, value] of Object.entries(b)) {
    if (value === undefined) continue;
    const before = merged[name];
    merged[name] = before === undefined ? value : [...[before].flat(), ...[value].flat()];
  }
  return merged;
}

function searchHandler(search: FhirSearch, deps: { lookupChild: ReturnType<typeof createLookupChild> }, baseUrlOf: (req: Request) => string) {
  return async (req: Request, res: express.Response, params: RawParams) => {
    const parsed = parseSearch(params, { strict: strictHandlingOf(req.get('Prefer')), includes: search.includes, revIncludes: search.revIncludes });
    const result = await deps.lookupChild(req.identity, {
      resourceType: search.resourceType,
      patient: parsed.patient,
      unscheduledHeader: req.get('IsUnscheduledAccessEvent'),
      requestId: req.requestId,
      ...(parsed.refusal ? { refusal: parsed.refusal } : {}),
    });
    const base = baseUrlOf(req);
    const { matches, includes, outcomes } = search.entries(result);
    const count = parsed.summaryCount ? 0 : parsed.count;
    const page = count === undefined ? matches.slice(parsed.offset) : matches.slice(parsed.offset, parsed.offset + count);
    const link = (offset: number) =>
      searchUrl(base, search.resourceType, [...parsed.applied.filter(([name]) => name !== '_offset'), ...(offset > 0 ? [['_offset', String(offset)] as [string, string]] : [])]);
    const more = count !== undefined && count > 0 && parsed.offset + count < matches.length;
    const bundle = toSearchsetBundle({
      matches: page,
      total: matches.length,
      // With only the total asked for, nothing else is sent (search.html#count, #summary).
      includes: count === 0 ? [] : includes,
      outcomes: count === 0 ? [] : outcomes,
      at: result.at,
      links: [
        { relation: 'self' as const, url: searchUrl(base, search.resourceType, parsed.applied) },
        ...(more ? [{ relation: 'next' as const, url: link(parsed.offset + (count as number)) }] : []),
        ...(parsed.offset > 0 && count ? [{ relation: 'previous' as const, url: link(Math.max(0, parsed.offset - count)) }] : []),
      ],
    });
    sendFhir(res, bundle);
  };
}
