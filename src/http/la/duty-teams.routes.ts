import { Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { invalidRequest } from '../../domain/app-error.ts';
import type { DutyTeams, DutyTeamsInput } from '../../domain/duty-teams.ts';
import type { createGetDutyTeams, createPutDutyTeams } from '../../app/manage-duty-teams.ts';
import { schemaIssues } from '../../schemas.ts';
import { jsonBody } from '../json-body.ts';
import { phoneBody } from './organisation.body.ts';

/** The JSON of GET, PUT and DELETE /la/v1/duty-teams (schemas/duty-teams-answer.schema.json). */
export const toDutyTeamsBody = (d: DutyTeams | null) => ({
  teams: (d?.teams ?? []).map((t) => ({ ...t, phone: phoneBody(t.phone) })),
  routing: d?.routing ?? null,
});

/** GET|PUT|DELETE /la/v1/duty-teams: the caller's own LA's teams and routing rules, never another's. */
export function dutyTeamsRouter(deps: {
  getDutyTeams: ReturnType<typeof createGetDutyTeams>;
  putDutyTeams: ReturnType<typeof createPutDutyTeams>;
  validateDutyTeams: ValidateFunction<DutyTeamsInput>;
  jsonMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true });
  router.get('/duty-teams', async (req, res) => {
    res.json(toDutyTeamsBody(await deps.getDutyTeams(req.identity)));
  });
  router.put('/duty-teams', ...jsonBody(deps.jsonMaxBytes), async (req, res) => {
    if (!deps.validateDutyTeams(req.body)) throw invalidRequest(schemaIssues(deps.validateDutyTeams.errors, req.body));
    res.json(toDutyTeamsBody(await deps.putDutyTeams(req.identity, req.body)));
  });
  router.delete('/duty-teams', async (req, res) => {
    res.json(toDutyTeamsBody(await deps.putDutyTeams(req.identity, null)));
  });
  return router;
}
