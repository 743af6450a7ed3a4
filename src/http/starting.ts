import express from 'express';
import type { Logger } from 'pino';
import { createCheckReadiness } from '../app/check-readiness.ts';
import { serviceUnavailable } from '../domain/app-error.ts';
import { createErrorHandler } from './error-handler.ts';
import { healthRouter } from './health.routes.ts';
import { noStore } from './no-store.ts';
import { requestId } from './request-id.ts';

// About one attempt of the start-up wait for the database.
const RETRY_AFTER_SECONDS = 5;

/**
 * What the instance answers while it starts (waiting for PostgreSQL, migrating): /health/live 200,
 * /health/ready 503 saying why, and 503 with Retry-After for everything else.
 */
export function createStartingApp(logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(noStore);
  app.use(requestId);
  app.use('/health', healthRouter({
    checkReadiness: createCheckReadiness({
      probes: [{ check: async () => ({ starting: { ok: false, detail: 'starting: waiting for PostgreSQL and migrations' } }) }],
      isDraining: () => false,
    }),
  }));
  app.use(() => {
    throw serviceUnavailable('the service is starting; try again shortly', RETRY_AFTER_SECONDS);
  });
  app.use(createErrorHandler(logger));
  return app;
}

/** The error a stream upgrade gets while the instance starts. */
export const startingUpgradeError = () => serviceUnavailable('the service is starting; try again shortly', RETRY_AFTER_SECONDS);
