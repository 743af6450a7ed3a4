import type { OperationOutcome } from 'fhir/r4.d.ts';
import { SPINE_CODES, type AppError } from '../domain/app-error.ts';

/** NHS England's error code system, at the URL the PDS FHIR API uses (see test/fixtures/pds/errors). */
export const SPINE_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

/** Maps an AppError to the FHIR OperationOutcome every 4xx/5xx carries. */
export function toOperationOutcome(error: AppError): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: error.issues.map((issue) => ({
      severity: 'error',
      code: error.issueCode,
      details: { coding: [{ system: SPINE_ERROR_SYSTEM, version: '1', code: error.spineCode, display: SPINE_CODES[error.spineCode] }] },
      diagnostics: issue.diagnostics,
      ...(issue.expression ? { expression: issue.expression } : {}),
    })),
  };
}
