import { Router, type Request } from 'express';
import type { ValidateFunction } from 'ajv';
import { invalidRequest, notFound } from '../../domain/app-error.ts';
import type {
  createChangeLaStatus, createGetRegistryEntry, createListRegistry, createRegisterLa, LaRegistration,
} from '../../app/manage-registry.ts';
import type { RegistrationMode } from '../../domain/registry.ts';
import { schemaIssues } from '../../schemas.ts';
import { jsonBody } from '../json-body.ts';
import { toRegistryEntryBody } from './registry.body.ts';

export const OPS_BASE_PATH = '/ops/v1';
const LA_CODE = /^[A-Z0-9]{1,12}$/;

/** The LA code of the path; a code no LA could have is as unknown as one none has. */
function codeOf(req: Request): string {
  const code = String(req.params.code);
  if (!LA_CODE.test(code)) throw notFound('no LA with this code is known (codes are 1 to 12 upper-case letters and digits)');
  return code;
}

/** The ops API's registry (`/ops/v1/las`): register, list with feed health, read one, suspend and reinstate. Role `ops` (app.ts). */
export function registryRouter(deps: {
  registration: RegistrationMode;
  listRegistry: ReturnType<typeof createListRegistry>;
  getRegistryEntry: ReturnType<typeof createGetRegistryEntry>;
  registerLa: ReturnType<typeof createRegisterLa>;
  changeLaStatus: ReturnType<typeof createChangeLaStatus>;
  validateRegistration: ValidateFunction<LaRegistration>;
  validateStatusChange: ValidateFunction<{ reason: string }>;
  jsonMaxBytes: number;
}): Router {
  const router = Router({ caseSensitive: true });
  const body = jsonBody(deps.jsonMaxBytes);
  const checked = <T>(validate: ValidateFunction<T>, value: unknown): T => {
    if (!validate(value)) throw invalidRequest(schemaIssues(validate.errors, value));
    return value;
  };

  router.get('/las', async (_req, res) => {
    const { at, las } = await deps.listRegistry();
    res.json({ at: at.toISOString(), registration: deps.registration, las: las.map(toRegistryEntryBody) });
  });
  router.post('/las', ...body, async (req, res) => {
    const view = await deps.registerLa(req.identity, checked(deps.validateRegistration, req.body), req.requestId);
    res.status(201).location(`${OPS_BASE_PATH}/las/${view.organisation.code}`).json(toRegistryEntryBody(view));
  });
  router.get('/las/:code', async (req, res) => {
    res.json(toRegistryEntryBody(await deps.getRegistryEntry(codeOf(req))));
  });
  for (const move of ['suspend', 'reinstate'] as const) {
    router.post(`/las/:code/${move}`, ...body, async (req, res) => {
      const code = codeOf(req);
      const { reason } = checked(deps.validateStatusChange, req.body);
      res.json(toRegistryEntryBody(await deps.changeLaStatus(move, req.identity, code, reason, req.requestId)));
    });
  }
  return router;
}
