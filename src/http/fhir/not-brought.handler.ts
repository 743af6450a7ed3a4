import type { Request, RequestHandler } from 'express';
import type { ValidateFunction } from 'ajv';
import type { createReportNotBrought } from '../../app/report-not-brought.ts';
import { schemaIssues } from '../../schemas.ts';
import { toAcceptedCommunication, toNotBroughtInput, toNotBroughtOutcome, type NotBroughtCommunication } from './mappers/communication.mapper.ts';
import { returnPreferenceOf, sendFhir } from './negotiation.ts';

/**
 * POST Communication (a child not brought to an appointment), as a FHIR create
 * (https://hl7.org/fhir/R4/http.html#create): 201 with Location, then the resource, nothing, or an
 * OperationOutcome, as `Prefer: return=` asks. The Communication is not readable afterwards (no read
 * interaction): its version is always 1. A body that fails its schema still reaches the use case,
 * which refuses it after the access rules and audits the refusal.
 */
export function notBroughtHandler(deps: {
  reportNotBrought: ReturnType<typeof createReportNotBrought>;
  validate: ValidateFunction<NotBroughtCommunication>;
  baseUrlOf: (req: Request) => string;
}): RequestHandler {
  return async (req, res) => {
    const body: unknown = req.body;
    const input = deps.validate(body) ? toNotBroughtInput(body) : { ok: false as const, issues: schemaIssues(deps.validate.errors, body) };
    const outcome = await deps.reportNotBrought(req.identity, { input, requestId: req.requestId });
    res.status(201).set({ Location: `${deps.baseUrlOf(req)}/Communication/${outcome.id}/_history/1`, ETag: 'W/"1"', 'Last-Modified': outcome.at.toUTCString() });
    const preference = returnPreferenceOf(req.get('Prefer'));
    if (preference === 'minimal') return void res.end();
    sendFhir(res, preference === 'OperationOutcome' ? toNotBroughtOutcome(outcome) : toAcceptedCommunication(body as NotBroughtCommunication, outcome));
  };
}
