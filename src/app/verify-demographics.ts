import { BATCH_RESULT } from '../domain/acknowledgement.ts';
import { AppError } from '../domain/app-error.ts';
import { checkAgainstPds, type DemographicCheck } from '../domain/demographic-match.ts';
import type { PdsResult } from '../domain/demographics.ts';
import type { Plan } from '../domain/plan.ts';
import type { Demographics } from '../ports.ts';

/** Cross-checks plans against PDS, one answer per plan in the same order; throws a CPF05 AppError when PDS cannot answer. */
export type DemographicsVerifier = (plans: readonly Plan[]) => Promise<DemographicCheck[]>;

/**
 * CPF05 (docs/domain.md §6): nothing of the batch is loaded and its sequence number is not used, so the
 * LA resubmits the same batch. Like CPF01 it is an OperationOutcome, as every 5xx of the API is.
 */
export function demographicsUnavailable(retryAfterSeconds: number): AppError {
  return new AppError(
    503,
    'UNABLE_TO_CALL_SERVICE',
    'transient',
    `${BATCH_RESULT.demographicsUnavailable}: the demographics service (PDS) is unavailable; nothing of this batch was loaded and its sequence number was not used: send the same batch again later`,
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

/** Looks every number up, at most `concurrency` at a time; stops starting new lookups once one is unavailable. */
async function lookUpAll(numbers: readonly string[], demographics: Demographics, concurrency: number): Promise<Map<string, PdsResult>> {
  const results = new Map<string, PdsResult>();
  let next = 0;
  let unavailable = false;
  const worker = async () => {
    while (!unavailable && next < numbers.length) {
      const nhsNumber = numbers[next++] as string;
      const result = await demographics.lookUp(nhsNumber);
      if (result.kind === 'unavailable') unavailable = true;
      results.set(nhsNumber, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, numbers.length) }, worker));
  return results;
}

/** The PDS cross-check of uploads: each distinct NHS number is looked up once per call. */
export function createVerifyDemographics(deps: { demographics: Demographics; concurrency: number; retryAfterSeconds: number }): DemographicsVerifier {
  return async (plans) => {
    const numbers = [...new Set(plans.map((p) => p.nhsNumber))];
    const results = await lookUpAll(numbers, deps.demographics, Math.max(1, deps.concurrency));
    return plans.map((plan) => {
      const result = results.get(plan.nhsNumber);
      if (!result || result.kind === 'unavailable') throw demographicsUnavailable(deps.retryAfterSeconds);
      return checkAgainstPds(plan, result);
    });
  };
}
