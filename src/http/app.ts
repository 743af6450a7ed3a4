import express, { Router } from 'express';
import type { Logger } from 'pino';
import type { ValidateFunction } from 'ajv';
import type { Role } from '../domain/identity.ts';
import type { ErrorTranslator } from '../domain/app-error.ts';
import type { TokenVerifier } from '../ports.ts';
import type { Readiness } from '../app/check-readiness.ts';
import type { createPublishBatch } from '../app/publish-batch.ts';
import type { createGetOrganisation, createUpdateOrganisation, OrganisationUpdate } from '../app/manage-organisation.ts';
import type { createGetDutyTeams, createPutDutyTeams } from '../app/manage-duty-teams.ts';
import type { DutyTeamsInput } from '../domain/duty-teams.ts';
import type { createListPlans } from '../app/list-plans.ts';
import type { createListRefusals } from '../app/list-refusals.ts';
import type { createDryRunBatch } from '../app/dry-run-batch.ts';
import type { createListOutstandingRefusals } from '../app/list-outstanding-refusals.ts';
import type { createReportAllUsage, createReportLaUsage } from '../app/report-usage.ts';
import type { createLookupChild } from '../app/lookup-child.ts';
import type { createReportNotBrought } from '../app/report-not-brought.ts';
import type { createReadAcknowledgements, createReadNotifications } from '../app/read-notifications.ts';
import type { createAcknowledgeNotifications } from '../app/acknowledge-notifications.ts';
import type { createIssueStreamTicket } from '../app/issue-stream-ticket.ts';
import type { createChangeLaStatus, createGetRegistryEntry, createListRegistry, createRegisterLa, LaRegistration } from '../app/manage-registry.ts';
import type { RegistrationMode } from '../domain/registry.ts';
import type { AckSelector, Metrics } from '../ports.ts';
import { metricsRouter, observeRequests } from './metrics.routes.ts';
import { fhirRouter, FHIR_BASE_PATH } from './fhir/fhir.routes.ts';
import type { NotBroughtCommunication } from './fhir/mappers/communication.mapper.ts';
import { notificationsRouter } from './la/notifications.routes.ts';
import { consoleRouter, type DevSignIn } from './console/console.routes.ts';
import { createAuthenticate } from './authenticate.ts';
import type { RateLimiter } from './rate-limit.ts';
import { createCors } from './cors.ts';
import { limitUrlLength } from './url-limit.ts';
import { createErrorHandler, notFoundHandler } from './error-handler.ts';
import { healthRouter } from './health.routes.ts';
import { noStore } from './no-store.ts';
import { createSecurityHeaders } from './security-headers.ts';
import { requestId } from './request-id.ts';
import { createRequestLogger } from './request-logger.ts';
import { trackRouteLabel } from './route-label.ts';
import { organisationRouter } from './la/organisation.routes.ts';
import { dutyTeamsRouter } from './la/duty-teams.routes.ts';
import { plansRouter } from './la/plans.routes.ts';
import { uploadsRouter } from './la/uploads.routes.ts';
import { refusalsRouter } from './la/refusals.routes.ts';
import { reportsRouter } from './la/reports.routes.ts';
import { opsReportsRouter } from './ops/reports.routes.ts';
import { contractsRouter } from './la/contracts.routes.ts';
import { OPS_BASE_PATH, registryRouter } from './ops/registry.routes.ts';

export type HttpDeps = {
  logger: Logger;
  /** Outside-world failures (an unreachable database) as the AppError the caller is told. */
  translateError: ErrorTranslator;
  verifier: TokenVerifier;
  metrics: Metrics;
  /** The checks of /health/ready (also the cpis_ready gauge). */
  checkReadiness: () => Promise<Readiness>;
  limits: { uploadMaxBytes: number; uploadMaxRecordBytes: number; jsonMaxBytes: number; maxUrlLength: number };
  /** Per token subject; shared with the WebSocket upgrade path. */
  rateLimiter: RateLimiter;
  /** Browser origins allowed cross-origin on the APIs; none sends no CORS headers. */
  corsOrigins: readonly string[];
  publicBaseUrl: string;
  console: { authMode: 'dev' | 'jwks'; devSignIn?: DevSignIn };
  software: { name: string; version: string };
  useCases: {
    publishBatch: ReturnType<typeof createPublishBatch>;
    getOrganisation: ReturnType<typeof createGetOrganisation>;
    updateOrganisation: ReturnType<typeof createUpdateOrganisation>;
    getDutyTeams: ReturnType<typeof createGetDutyTeams>;
    putDutyTeams: ReturnType<typeof createPutDutyTeams>;
    listPlans: ReturnType<typeof createListPlans>;
    listRefusals: ReturnType<typeof createListRefusals>;
    dryRunBatch: ReturnType<typeof createDryRunBatch>;
    listOutstandingRefusals: ReturnType<typeof createListOutstandingRefusals>;
    reportLaUsage: ReturnType<typeof createReportLaUsage>;
    reportAllUsage: ReturnType<typeof createReportAllUsage>;
    lookupChild: ReturnType<typeof createLookupChild>;
    reportNotBrought: ReturnType<typeof createReportNotBrought>;
    readNotifications: ReturnType<typeof createReadNotifications>;
    readAcknowledgements: ReturnType<typeof createReadAcknowledgements>;
    acknowledgeNotifications: ReturnType<typeof createAcknowledgeNotifications>;
    issueStreamTicket: ReturnType<typeof createIssueStreamTicket>;
    listRegistry: ReturnType<typeof createListRegistry>;
    getRegistryEntry: ReturnType<typeof createGetRegistryEntry>;
    registerLa: ReturnType<typeof createRegisterLa>;
    changeLaStatus: ReturnType<typeof createChangeLaStatus>;
  };
  /** LA_REGISTRATION, as the ops API reports it. */
  registration: RegistrationMode;
  validators: {
    organisation: ValidateFunction<OrganisationUpdate>; dutyTeams: ValidateFunction<DutyTeamsInput>; ack: ValidateFunction<AckSelector>;
    communication: ValidateFunction<NotBroughtCommunication>;
    laRegistration: ValidateFunction<LaRegistration>; laStatusChange: ValidateFunction<{ reason: string }>;
  };
};

/** Builds the Express application: middleware, routers and the one error handler. */
export function createHttpApp(deps: HttpDeps): express.Express {
  const authenticate = createAuthenticate(deps.verifier, deps.rateLimiter);
  const app = express();
  // Paths are matched as written (FHIR's are case-sensitive), so the `route` label of logs and metrics
  // can only take the values of the route table, whatever case a caller tries (route-label.ts).
  app.set('case sensitive routing', true);
  app.disable('x-powered-by');
  app.use(noStore);
  // Security headers on every answer (security-headers.ts).
  app.use(createSecurityHeaders());
  app.set('etag', false);
  app.use(requestId);
  app.use(trackRouteLabel);
  app.use(createRequestLogger(deps.logger));
  app.use(observeRequests(deps.metrics));
  app.use(limitUrlLength(deps.limits.maxUrlLength));
  if (deps.corsOrigins.length) app.use([FHIR_BASE_PATH, '/la/v1'], createCors(deps.corsOrigins));
  app.use('/metrics', metricsRouter({ metrics: deps.metrics, authenticate }));

  app.use('/health', healthRouter({ checkReadiness: deps.checkReadiness }));

  app.use('/console', consoleRouter({ ...deps.console, jsonMaxBytes: deps.limits.jsonMaxBytes }));
  app.use(
    FHIR_BASE_PATH,
    fhirRouter({
      authenticate, lookupChild: deps.useCases.lookupChild, reportNotBrought: deps.useCases.reportNotBrought,
      validateCommunication: deps.validators.communication, publicBaseUrl: deps.publicBaseUrl, software: deps.software,
      corsOrigins: deps.corsOrigins, bodyMaxBytes: deps.limits.jsonMaxBytes,
    }),
  );

  // The LA API's contracts are open: mounted before the routes behind a token.
  app.use('/la/v1', contractsRouter({ software: deps.software, publicBaseUrl: deps.publicBaseUrl }));
  const la = Router({ caseSensitive: true });
  const laSystem: Role[] = ['la-system'];
  // Duty social workers read their LA's details (the console's banner); only the LA system changes them.
  la.get('/organisation', authenticate(['la-system', 'social-worker']));
  la.put('/organisation', authenticate(laSystem));
  // Social workers read the teams (the console's "my team"); only the LA system sets them.
  la.get('/duty-teams', authenticate(['la-system', 'social-worker']));
  la.put('/duty-teams', authenticate(laSystem));
  la.delete('/duty-teams', authenticate(laSystem));
  la.use('/uploads', authenticate(laSystem));
  la.use('/plans', authenticate(laSystem));
  la.use('/notifications', authenticate(['la-system', 'social-worker']));
  // The LA's own data quality and usage: its system fixes its records; its duty managers may read its usage.
  la.get('/refusals', authenticate(laSystem));
  la.get('/reports/usage', authenticate(['la-system', 'social-worker']));
  la.use(organisationRouter({ ...deps.useCases, validateOrganisation: deps.validators.organisation, jsonMaxBytes: deps.limits.jsonMaxBytes }));
  la.use(dutyTeamsRouter({ ...deps.useCases, validateDutyTeams: deps.validators.dutyTeams, jsonMaxBytes: deps.limits.jsonMaxBytes }));
  la.use(uploadsRouter({
    publishBatch: deps.useCases.publishBatch, dryRunBatch: deps.useCases.dryRunBatch, listRefusals: deps.useCases.listRefusals,
    limits: { maxBytes: deps.limits.uploadMaxBytes, maxRecordBytes: deps.limits.uploadMaxRecordBytes },
  }));
  la.use(refusalsRouter(deps.useCases));
  la.use(reportsRouter(deps.useCases));
  la.use(plansRouter(deps.useCases));
  la.use(notificationsRouter({ ...deps.useCases, validateAck: deps.validators.ack, jsonMaxBytes: deps.limits.jsonMaxBytes }));
  app.use('/la/v1', la);

  // The operators' API: the LA registry and usage reports of every LA. Each route checks its token, so that OPTIONS answers like the LA API's own.
  const ops = Router({ caseSensitive: true });
  const opsOnly = authenticate(['ops']);
  ops.get('/las', opsOnly);
  ops.post('/las', opsOnly);
  ops.get('/las/:code', opsOnly);
  ops.post('/las/:code/suspend', opsOnly);
  ops.post('/las/:code/reinstate', opsOnly);
  ops.get('/reports/usage', opsOnly);
  ops.use(registryRouter({
    ...deps.useCases, registration: deps.registration, jsonMaxBytes: deps.limits.jsonMaxBytes,
    validateRegistration: deps.validators.laRegistration, validateStatusChange: deps.validators.laStatusChange,
  }));
  ops.use(opsReportsRouter(deps.useCases));
  app.use(OPS_BASE_PATH, ops);

  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger, deps.translateError));
  return app;
}
