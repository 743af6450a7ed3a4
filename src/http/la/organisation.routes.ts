import { Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { invalidRequest } from '../../domain/app-error.ts';
import type { createGetOrganisation, createUpdateOrganisation, OrganisationUpdate } from '../../app/manage-organisation.ts';
import { schemaIssues } from '../../schemas.ts';
import { toOrganisationBody } from './organisation.body.ts';
import { jsonBody } from '../json-body.ts';

/** GET|PUT /la/v1/organisation: the caller's own LA, never another. */
export function organisationRouter(deps: {
  getOrganisation: ReturnType<typeof createGetOrganisation>;
  updateOrganisation: ReturnType<typeof createUpdateOrganisation>;
  validateOrganisation: ValidateFunction<OrganisationUpdate>;
  jsonMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true });
  router.get('/organisation', async (req, res) => {
    res.json(toOrganisationBody(await deps.getOrganisation(req.identity)));
  });
  router.put('/organisation', ...jsonBody(deps.jsonMaxBytes), async (req, res) => {
    if (!deps.validateOrganisation(req.body)) throw invalidRequest(schemaIssues(deps.validateOrganisation.errors, req.body));
    res.json(toOrganisationBody(await deps.updateOrganisation(req.identity, req.body)));
  });
  return router;
}
