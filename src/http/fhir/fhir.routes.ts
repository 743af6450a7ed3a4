import { Router, type Request } from 'express';
import { ROLES } from '../../domain/identity.ts';
import type { createLookupChild } from '../../app/lookup-child.ts';
import type { Authenticate } from '../authenticate.ts';
import { toCapabilityStatement } from './capability-statement.ts';
import { FHIR_SEARCHES } from './interactions.ts';
import { toSearchsetBundle } from './mappers/bundle.ts';
import { patientOf } from './search-params.ts';

export const FHIR_BASE_PATH = '/cpis/FHIR/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The /cpis/FHIR/R4 facade: metadata (open) and one search route per row of FHIR_SEARCHES. */
export function fhirRouter(deps: {
  authenticate: Authenticate;
  lookupChild: ReturnType<typeof createLookupChild>;
  publicBaseUrl: string;
  software: { name: string; version: string };
}): Router {
  const router = Router();
  const baseUrlOf = (req: Request) => (deps.publicBaseUrl ? `${deps.publicBaseUrl}${FHIR_BASE_PATH}` : `${req.protocol}://${req.get('host')}${FHIR_BASE_PATH}`);

  router.get('/metadata', (req, res) => {
    res.type(FHIR_JSON).send(JSON.stringify(toCapabilityStatement(FHIR_SEARCHES, { baseUrl: baseUrlOf(req), software: deps.software, at: new Date() })));
  });

  // Any role may reach the search; the access rules (and their audit) belong to the use case.
  const anyone = deps.authenticate(ROLES);
  for (const search of FHIR_SEARCHES) {
    router.get(`/${search.resourceType}`, anyone, async (req, res) => {
      const result = await deps.lookupChild(req.identity, {
        resourceType: search.resourceType,
        patient: patientOf(req.query),
        unscheduledHeader: req.get('IsUnscheduledAccessEvent'),
        requestId: req.requestId,
      });
      const bundle = toSearchsetBundle({ baseUrl: baseUrlOf(req), ...search.entries(result), at: result.at });
      res.type(FHIR_JSON).send(JSON.stringify(bundle));
    });
  }
  return router;
}
