import { readFile } from 'node:fs/promises';
import { importPKCS8 } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../../src/config.ts';
import type { Clock, Demographics } from '../../src/ports.ts';
import { createAccessTokenSource } from './access-token.ts';
import { createPdsClient } from './pds-client.ts';
import { createCircuitBreaker, createRateLimiter } from './resilience.ts';
import { createSandboxDemographics } from './sandbox.ts';

/** A PDS adapter, and for the live API whether its circuit breaker stops calls now (the cpis_pds_circuit_open gauge). */
export type MonitoredDemographics = Demographics & { circuitOpen?: () => boolean };

/** The PDS adapter PDS_MODE asks for: the published sandbox responses, or the live API with its credentials. */
export async function createDemographics(pds: Config['pds'], options: { clock: Clock; logger: Logger }): Promise<MonitoredDemographics> {
  if (pds.mode === 'sandbox') return createSandboxDemographics();
  const logger = options.logger.child({ component: 'pds' });
  const privateKey = await importPKCS8(await readFile(pds.privateKeyFile, 'utf8'), 'RS512');
  const breaker = createCircuitBreaker({
    failureThreshold: pds.breakerFailures,
    coolDownMs: pds.breakerCooldownSeconds * 1000,
    clock: options.clock,
    onChange: (state) => logger[state === 'open' ? 'warn' : 'info']({ pds: { breaker: state } }, `PDS circuit breaker ${state}`),
  });
  const client = createPdsClient({
    baseUrl: pds.baseUrl,
    tokens: createAccessTokenSource({ tokenUrl: pds.tokenUrl, apiKey: pds.apiKey, keyId: pds.keyId, privateKey, timeoutMs: pds.timeoutMs, clock: options.clock }),
    timeoutMs: pds.timeoutMs,
    maxRetries: pds.maxRetries,
    backoffMs: pds.backoffMs,
    breaker,
    limiter: createRateLimiter(pds.rateLimitPerSecond),
    logger,
  });
  return { lookUp: (nhsNumber) => client.lookUp(nhsNumber), circuitOpen: () => breaker.state() !== 'closed' };
}
