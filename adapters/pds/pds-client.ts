import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'fhir-kit-client';
import type { Logger } from 'pino';
import type { PdsResult, PdsUnavailableReason } from '../../src/domain/demographics.ts';
import type { Demographics } from '../../src/ports.ts';
import { AccessTokenError, type AccessTokenSource } from './access-token.ts';
import { errorResultOf, patientResultOf } from './patient-result.ts';
import { backoffMs, type CircuitBreaker } from './resilience.ts';

export type PdsClientOptions = {
  baseUrl: string;
  tokens: AccessTokenSource;
  timeoutMs: number;
  maxRetries: number;
  backoffMs: number;
  breaker: CircuitBreaker;
  limiter: { take(): Promise<void> };
  logger: Logger;
};

/** One try: an answer about the number, or a failure that may be retried or must not be. */
type Attempt =
  | { kind: 'answer'; result: PdsResult; status?: number }
  | { kind: 'retry'; reason: PdsUnavailableReason; status?: number; retryAfterMs?: number }
  | { kind: 'fail'; reason: PdsUnavailableReason; status?: number };

type HttpFailure = Error & { response?: { status: number; data: unknown }; config?: { headers?: Headers } };

/** Sorts a failed read: timeouts, 429 and 5xx are retried; 401 drops the token and retries; a 4xx about the number is an answer. */
function attemptOf(error: HttpFailure, tokens: AccessTokenSource): Attempt {
  if (error instanceof AccessTokenError) return { kind: error.retryable ? 'retry' : 'fail', reason: 'auth', status: error.status };
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return { kind: 'retry', reason: 'timeout' };
  const status = error.response?.status;
  if (status === undefined) return { kind: 'retry', reason: 'network' };
  if (status === 429) {
    const retryAfter = Number(error.config?.headers?.get?.('retry-after'));
    return { kind: 'retry', reason: 'throttled', status, retryAfterMs: retryAfter > 0 ? retryAfter * 1000 : undefined };
  }
  if (status >= 500) return { kind: 'retry', reason: 'server-error', status };
  if (status === 401) {
    tokens.invalidate();
    return { kind: 'retry', reason: 'auth', status };
  }
  const answer = errorResultOf(status, error.response?.data);
  return answer ? { kind: 'answer', result: answer } : { kind: 'fail', reason: status === 403 ? 'auth' : 'unexpected-response', status };
}

/**
 * The PDS FHIR R4 API (GET Patient/{nhs}, application-restricted access) through fhir-kit-client, with a
 * timeout per request, bounded retries with exponential backoff, a circuit breaker and a rate limit.
 * A lookup therefore ends within about (maxRetries + 1) × timeoutMs plus the backoffs, or at once when the breaker is open.
 */
export function createPdsClient(options: PdsClientOptions): Demographics {
  const client = new Client({ baseUrl: options.baseUrl });

  async function attempt(nhsNumber: string): Promise<Attempt> {
    try {
      const token = await options.tokens.get();
      const patient = await client.read({
        resourceType: 'Patient',
        id: nhsNumber,
        options: {
          headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() },
          signal: AbortSignal.timeout(options.timeoutMs),
        },
      });
      return { kind: 'answer', result: patientResultOf(nhsNumber, patient) };
    } catch (error) {
      return attemptOf(error as HttpFailure, options.tokens);
    }
  }

  return {
    async lookUp(nhsNumber) {
      for (let tries = 0; ; tries++) {
        if (!options.breaker.allows()) return { kind: 'unavailable', reason: 'circuit-open' };
        await options.limiter.take();
        const outcome = await attempt(nhsNumber);
        if (outcome.kind === 'answer' && outcome.result.kind !== 'unavailable') {
          options.breaker.succeeded();
          return outcome.result;
        }
        options.breaker.failed();
        const reason = outcome.kind === 'answer' ? 'unexpected-response' : outcome.reason;
        // The reason, the HTTP status and the try: never the number, a body or a token.
        options.logger.warn({ pds: { reason, status: outcome.status, try: tries + 1 } }, 'PDS lookup failed');
        if (outcome.kind !== 'retry' || tries >= options.maxRetries) return { kind: 'unavailable', reason };
        await sleep(backoffMs(tries, options.backoffMs, outcome.retryAfterMs));
      }
    },
  };
}
