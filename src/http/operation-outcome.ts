import type { OperationOutcome } from 'fhir/r4.d.ts';
import { CPIS_ERROR_CODES, CPIS_ERROR_SYSTEM, SPINE_CODES, type AppError, type SpineCode } from '../domain/app-error.ts';

/** NHS England's error code system, at the URL the PDS FHIR API uses (see test/fixtures/pds/errors). */
export const SPINE_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

/** The coding of an error code: the Spine system's, or for the one code it lacks, the service's own. */
function codingOf(code: SpineCode) {
  if (code in CPIS_ERROR_CODES) return { system: CPIS_ERROR_SYSTEM, version: '1', code, display: CPIS_ERROR_CODES[code as keyof typeof CPIS_ERROR_CODES] };
  return { system: SPINE_ERROR_SYSTEM, version: '1', code, display: SPINE_CODES[code as keyof typeof SPINE_CODES] };
}

/** Maps an AppError to the FHIR OperationOutcome every 4xx/5xx carries. */
export function toOperationOutcome(error: AppError): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: error.issues.map((issue) => ({
      severity: 'error',
      code: error.issueCode,
      details: { coding: [codingOf(error.spineCode)] },
      diagnostics: issue.diagnostics,
      ...(issue.expression ? { expression: issue.expression } : {}),
    })),
  };
}
