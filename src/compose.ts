import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { Config } from './config.ts';
import type { Clock, ReadinessProbe, TokenVerifier } from './ports.ts';
import { createAjv, compileSchema } from './schemas.ts';
import { errorForLog } from './logger.ts';
import { createHttpApp } from './http/app.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { createPublishBatch } from './app/publish-batch.ts';
import { createRecordValidator } from './app/record-validator.ts';
import { createGetOrganisation, createUpdateOrganisation, type OrganisationUpdate } from './app/manage-organisation.ts';
import { createGetDutyTeams, createPutDutyTeams } from './app/manage-duty-teams.ts';
import type { DutyTeamsInput } from './domain/duty-teams.ts';
import { createListPlans } from './app/list-plans.ts';
import { createListRefusals } from './app/list-refusals.ts';
import { createDryRunBatch } from './app/dry-run-batch.ts';
import { createListOutstandingRefusals } from './app/list-outstanding-refusals.ts';
import { createReportAllUsage, createReportLaUsage } from './app/report-usage.ts';
import { createLookupChild } from './app/lookup-child.ts';
import { createReportNotBrought } from './app/report-not-brought.ts';
import type { NotBroughtCommunication } from './http/fhir/mappers/communication.mapper.ts';
import { createReadAcknowledgements, createReadNotifications } from './app/read-notifications.ts';
import { createAcknowledgeNotifications } from './app/acknowledge-notifications.ts';
import type { AckSelector } from './ports.ts';
import { createIssueStreamTicket } from './app/issue-stream-ticket.ts';
import { createVerifyDemographics } from './app/verify-demographics.ts';
import { createRecheckNhsNumbers, type RecheckSummary } from './app/recheck-nhs-numbers.ts';
import { createExportSubjectAccess } from './app/export-subject-access.ts';
import { startPeriodicJob } from './app/periodic-job.ts';
import { createRunRetention, type RetentionSummary } from './app/run-retention.ts';
import { createEscalateAlerts, type EscalationSummary } from './app/escalate-alerts.ts';
import { createChangeLaStatus, createGetRegistryEntry, createListRegistry, createReadFeedHealth, createRegisterLa, type LaRegistration } from './app/manage-registry.ts';
import { createCheckReadiness } from './app/check-readiness.ts';
import type { Demographics, EscalationStore, Metrics } from './ports.ts';
import { createFanout } from './realtime/fanout.ts';
import { attachStream } from './realtime/stream-server.ts';
import type { Server } from 'node:http';
import { EmbeddedPostgresMissingError, startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/postgres/embedded.ts';
import { createPools, endPools, type Pools } from '../adapters/postgres/pool.ts';
import { DatabaseStartupError, waitForDatabase } from '../adapters/postgres/wait-for-database.ts';
import { checkPdsMode, DeploymentMismatchError } from '../adapters/postgres/deployment-settings.ts';
import { StartupRefusal } from './startup-refusal.ts';
import { databaseUnavailable, isDatabaseUnavailable } from '../adapters/postgres/unavailable.ts';
import { migrate, MigrationChangedError } from '../adapters/postgres/migrate.ts';
import { createPostgresUploadStore } from '../adapters/postgres/upload-store.ts';
import { createPostgresOrganisationStore } from '../adapters/postgres/organisation-store.ts';
import { createPostgresPlanStore } from '../adapters/postgres/plan-store.ts';
import { createPostgresReadiness } from '../adapters/postgres/readiness.ts';
import { createPostgresLookupStore } from '../adapters/postgres/lookup-store.ts';
import { createPostgresNotBroughtStore } from '../adapters/postgres/not-brought-store.ts';
import { createPostgresNotificationStore } from '../adapters/postgres/notification-store.ts';
import { createOutboxListener } from '../adapters/postgres/outbox-listener.ts';
import { createRegisterCache, forgetAfter } from '../adapters/postgres/register-cache.ts';
import type { Held } from '../adapters/postgres/lookup-store.ts';
import { createPostgresTicketStore } from '../adapters/postgres/ticket-store.ts';
import { createPostgresUsageStore } from '../adapters/postgres/usage-store.ts';
import { createPostgresRecheckStore } from '../adapters/postgres/recheck-store.ts';
import { createPostgresRetentionStore } from '../adapters/postgres/retention-store.ts';
import { createPostgresEscalationStore } from '../adapters/postgres/escalation-store.ts';
import { createPostgresSubjectAccessStore } from '../adapters/postgres/subject-access-store.ts';
import { createPostgresRegistryStore } from '../adapters/postgres/registry-store.ts';
import { createDemographics } from '../adapters/pds/create-demographics.ts';
import { createPrometheusMetrics } from '../adapters/metrics/prometheus.ts';
import { loadOrCreateDevKey, mintDevToken } from '../adapters/auth/dev-keys.ts';
import type { DevSignIn } from './http/console/console.routes.ts';
import { createJwksVerifier, createLocalKeysVerifier } from '../adapters/auth/verify-token.ts';

export type Composition = {
  app: ReturnType<typeof createHttpApp>;
  /** The general pool (tests and tools read the database through it). */
  pool: pg.Pool;
  pools: Pools;
  databaseUrl: string;
  setDraining(): void;
  /** Serves the notification stream on the server's upgrade path. */
  attachRealtime(server: Server): void;
  /** Closes every socket with 1001 (going away). */
  closeSockets(): void;
  close(): Promise<void>;
  /** One pass of the PDS re-check job, when PDS_MODE is not off (tests and operators' tools call it directly). */
  recheckNhsNumbers?: () => Promise<RecheckSummary>;
  /** One pass of the retention jobs (tests and operators' tools call it directly). */
  runRetention: () => Promise<RetentionSummary>;
  /** One pass of the escalation job (tests and operators' tools call it directly). */
  escalateAlerts: () => Promise<EscalationSummary>;
};

export const systemClock: Clock = { now: () => new Date() };

const SOFTWARE = { name: 'cpis-open', version: '0.1.0' };

/** The subject access export (npm run subject-access) over an already open pool. */
export function composeSubjectAccess(pool: pg.Pool, clock: Clock = systemClock) {
  return createExportSubjectAccess({ store: createPostgresSubjectAccessStore(pool), clock, software: SOFTWARE });
}

/**
 * Connects to the configured PostgreSQL (waiting up to DATABASE_STARTUP_TIMEOUT_SECONDS for it), or
 * starts the embedded one, opens the instance's pools and applies migrations.
 */
export async function openDatabase(config: Config, logger: Logger, signal?: AbortSignal): Promise<{ pools: Pools; url: string; embedded?: EmbeddedPostgres }> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, logger }).catch((error: unknown) => {
      throw error instanceof EmbeddedPostgresMissingError ? new StartupRefusal(error.message, 78, { cause: error }) : error;
    });
  const url = config.databaseUrl || (embedded as EmbeddedPostgres).url;
  const { database } = config;
  const pools = createPools({ url, sizes: database.poolSizes, logger, acquireTimeoutMs: database.acquireTimeoutMs });
  try {
    await waitForDatabase(pools.general, { timeoutMs: database.startupTimeoutMs, logger, signal });
    const { applied, checksumsRecorded } = await migrate(pools.general);
    if (checksumsRecorded.length) logger.info({ migrations: checksumsRecorded }, 'recorded the checksums of migrations applied before checksums were kept');
    if (applied.length) logger.info({ applied }, 'database migrations applied');
    await checkPdsMode(pools.general, config.pds.mode);
  } catch (error) {
    await endPools(pools);
    await embedded?.stop();
    if (error instanceof DatabaseStartupError) throw new StartupRefusal(error.message, 69, { cause: error });
    if (error instanceof DeploymentMismatchError || error instanceof MigrationChangedError) throw new StartupRefusal(error.message, 78, { cause: error });
    throw error;
  }
  return { pools, url, embedded };
}

/** Picks the token verifier for AUTH_MODE; in dev mode also the console's demo sign-in. */
export async function createVerifier(config: Config): Promise<{ verifier: TokenVerifier; devSignIn?: DevSignIn }> {
  const { auth } = config;
  const options = {
    issuer: auth.issuer, audience: auth.audience, algorithms: auth.algorithms,
    clockSkewSeconds: auth.clockSkewSeconds, maxTokenLifetimeSeconds: auth.maxTokenLifetimeSeconds,
  };
  if (config.auth.mode === 'jwks') return { verifier: createJwksVerifier(config.auth.jwksUrl, config.auth.jwksCooldownSeconds, options) };
  const key = await loadOrCreateDevKey(config.dataDir);
  // A duty shift, within the lifetime the verifier accepts.
  const ttlSeconds = Math.min(8 * 3600, auth.maxTokenLifetimeSeconds);
  // Two demo workers of one LA who give their names are two people: each acknowledgement names its own.
  // A digest, not the name: a user id goes where names may not (logs).
  const subOf = (org: string, name: string | undefined) =>
    `demo-worker-${org.toLowerCase()}${name ? `-${createHash('sha256').update(name).digest('hex').slice(0, 10)}` : ''}`;
  const devSignIn: DevSignIn = async (org, name, teams) => ({
    token: await mintDevToken(
      key,
      { sub: subOf(org, name), role: 'social-worker', org, name: name ?? 'Demo duty social worker', org_name: org, ...(teams.length ? { teams: [...teams] } : {}) },
      { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds },
    ),
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
  });
  return { verifier: createLocalKeysVerifier([key.publicJwk], options), devSignIn };
}

/** How a background job's failed pass is logged: an outage in one short line (the job tries again), anything else in full. */
function jobErrorReporter(logger: Logger, job: string): (error: unknown) => void {
  return (error) => {
    if (isDatabaseUnavailable(error)) logger.warn({ job, code: (error as { code?: string }).code }, `${job} pass failed: database unavailable; it runs again at its next interval`);
    else logger.error({ job, err: errorForLog(error) }, `${job} pass failed`);
  };
}

// Due numbers claimed per pass of the re-check job.
const RECHECK_BATCH = 50;

/** PDS_MODE other than off: the upload cross-check and the re-check job, sharing one PDS adapter and so one rate limit. */
function composePds(config: Config, demographics: Demographics, deps: { pool: pg.Pool; clock: Clock; logger: Logger; metrics: Metrics; forget: () => void }) {
  const { pds } = config;
  const recheckNhsNumbers = createRecheckNhsNumbers({
    store: forgetAfter(createPostgresRecheckStore(deps.pool), ['retire'], deps.forget), demographics, clock: deps.clock, windows: config.visibilityDays,
    intervalSeconds: pds.recheckIntervalSeconds, ratePerSecond: pds.recheckRatePerSecond, batchSize: RECHECK_BATCH, metrics: deps.metrics,
  });
  const runPass = async (signal: AbortSignal) => {
    const summary = await recheckNhsNumbers(signal);
    if (summary.claimed > 0) deps.logger.info({ recheck: summary }, 'PDS re-check pass');
    return { more: summary.claimed === RECHECK_BATCH && !summary.pdsUnavailable };
  };
  return {
    verifyDemographics: createVerifyDemographics({ demographics, concurrency: pds.maxConcurrency, retryAfterSeconds: pds.breakerCooldownSeconds }),
    recheckNhsNumbers: () => recheckNhsNumbers(),
    startRecheckJob: () =>
      pds.recheckPollSeconds === 0
        ? undefined
        : startPeriodicJob({
            run: runPass,
            idleMs: pds.recheckPollSeconds * 1000,
            onError: jobErrorReporter(deps.logger, 'PDS re-check'),
          }),
  };
}

/** The retention jobs: one pass now and then every RETENTION_INTERVAL_SECONDS, unless that is 0. */
function composeRetention(config: Config, deps: { pool: pg.Pool; clock: Clock; logger: Logger; metrics: Metrics; forget: () => void }) {
  const { retention } = config;
  const runRetention = createRunRetention({
    store: forgetAfter(createPostgresRetentionStore(deps.pool), ['exclusively'], deps.forget), clock: deps.clock, windows: config.visibilityDays, batchSize: retention.batchSize,
    notificationRetentionDays: retention.notificationDays, auditRetentionDays: retention.auditDays,
    unmatchedSearchRetentionDays: retention.unmatchedSearchDays, refusalRetentionDays: retention.refusalDays, metrics: deps.metrics,
  });
  const runPass = async (signal: AbortSignal) => {
    const { ran, ...counts } = await runRetention(signal);
    if (Object.values(counts).some((n) => n > 0)) deps.logger.info({ retention: counts }, 'retention pass');
    else if (!ran) deps.logger.debug('retention pass skipped: another instance is running one');
    return { more: false };
  };
  const job = retention.intervalSeconds === 0
    ? undefined
    : startPeriodicJob({
        run: runPass,
        idleMs: retention.intervalSeconds * 1000,
        onError: jobErrorReporter(deps.logger, 'retention'),
      });
  return { runRetention: () => runRetention(), job };
}

/**
 * The escalation job: one pass now and then every ESCALATION_INTERVAL_SECONDS, unless that is 0, on
 * every instance (each LA's escalations are decided under its event counter, so passes on several
 * instances at once escalate an alert once); at once again while a pass stopped at its bound.
 */
function composeEscalation(config: Config, deps: { store: EscalationStore; clock: Clock; logger: Logger; metrics: Metrics }) {
  const escalateAlerts = createEscalateAlerts({
    store: deps.store, clock: deps.clock, batchSize: config.escalation.batchSize, metrics: deps.metrics,
  });
  const runPass = async (signal: AbortSignal) => {
    const summary = await escalateAlerts(signal);
    if (summary.escalated > 0) deps.logger.info({ escalation: summary }, 'escalation pass');
    return { more: summary.more };
  };
  const { intervalSeconds } = config.escalation;
  const job = intervalSeconds === 0
    ? undefined
    : startPeriodicJob({ run: runPass, idleMs: intervalSeconds * 1000, onError: jobErrorReporter(deps.logger, 'escalation') });
  return { escalateAlerts: () => escalateAlerts(), job };
}

/** Seconds each LA's oldest waiting alert has waited, by the service's clock (a gauge read at scrape time). */
const secondsWaiting = (store: EscalationStore, clock: Clock) => async () => {
  const oldest = await store.oldestWaitingByLa();
  const now = clock.now().getTime();
  return new Map([...oldest].map(([la, at]) => [la, Math.max(0, (now - at.getTime()) / 1000)]));
};

/** The one composition root: adapters from config, use cases wired to them, and the HTTP app. */
export async function compose(config: Config, options: { logger: Logger; clock?: Clock; signal?: AbortSignal }): Promise<Composition> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const demographics = config.pds.mode === 'off' ? undefined : await createDemographics(config.pds, { clock, logger });
  const { verifier, devSignIn } = await createVerifier(config);
  const { pools, url, embedded } = await openDatabase(config, logger, options.signal);
  const pool = pools.general;

  const wakeups = createOutboxListener({ url, logger });
  // The lookup path's read model (README, Performance): every store below that changes plans or LAs
  // forgets it when its change is done, and every instance forgets on the change's notification.
  const registerCache = createRegisterCache<Held>(config.database.registerCache, wakeups);
  const { forget } = registerCache;
  const organisations = forgetAfter(createPostgresOrganisationStore(pool), ['put', 'putDutyTeams'], forget);
  const registry = forgetAfter(createPostgresRegistryStore(pool), ['register', 'changeStatus'], forget);
  const registryDeps = { registry, clock, mode: config.laRegistration };
  const lookups = createPostgresLookupStore(pools.lookups, { maxWaitMs: config.database.acquireTimeoutMs }, registerCache);
  const notifications = createPostgresNotificationStore(pool);
  // The general pool, not the bulk one: an escalation must not wait behind a large upload.
  const escalations = createPostgresEscalationStore(pool);
  const tickets = createPostgresTicketStore(pool);
  const uploadStore = createPostgresUploadStore({ writes: pools.bulk, reads: pool });
  const uploads = {
    ...uploadStore,
    open: async (laCode: string, uploadId: string) => {
      const session = await uploadStore.open(laCode, uploadId);
      return session && forgetAfter(session, ['commit'], forget);
    },
  };
  const metrics = createPrometheusMetrics({
    unacknowledgedByLa: () => notifications.unacknowledgedByLa(),
    oldestWaitingAlertSecondsByLa: secondsWaiting(escalations, clock),
    pools: () => Object.entries(pools).map(([name, p]) => ({ name, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount })),
    listenerConnected: () => wakeups.isListening(),
    ready: async () => (await checkReadiness()).ready,
    feedHealth: createReadFeedHealth({ registry, clock }),
    pdsCircuitOpen: () => demographics?.circuitOpen?.(),
    registerCache: () => registerCache.stats(),
  });
  let draining = false;
  const readiness: ReadinessProbe[] = [
    createPostgresReadiness(pool),
    { check: async () => ({ fanout: fanout.isListening() ? { ok: true } : { ok: false, detail: 'notification listener is not connected' } }) },
  ];
  const checkReadiness = createCheckReadiness({ probes: readiness, isDraining: () => draining });
  const fanout = createFanout({
    store: notifications, wakeups, logger, sweepMs: config.stream.sweepMs, metrics,
    limits: { maxBufferedBytes: config.stream.maxBufferedBytes, slowConsumerMs: config.stream.slowConsumerMs },
  });
  await fanout.start();
  const pds = demographics && composePds(config, demographics, { pool: pools.bulk, clock, logger, metrics, forget });
  const recheckJob = pds?.startRecheckJob();
  const retention = composeRetention(config, { pool: pools.bulk, clock, logger, metrics, forget });
  const escalation = composeEscalation(config, { store: escalations, clock, logger, metrics });
  const acknowledgeNotifications = createAcknowledgeNotifications({ notifications, clock });
  // One budget per token subject for HTTP requests and stream upgrades alike.
  const rateLimiter = createRateLimiter(config.rateLimitPerSecond);
  // A dry run is the same story on a session that keeps nothing: it must never check less than an upload.
  const publishDeps = {
    uploads, organisations, registry, registration: config.laRegistration, clock, ackMaxListed: config.ackMaxListed,
    validateRecord: createRecordValidator(), verifyDemographics: pds?.verifyDemographics,
  };
  // Reports read the bulk pool: they must not take the connections of the LA API.
  const usageDeps = {
    usage: createPostgresUsageStore(pools.bulk), clock,
    retention: { notificationDays: config.retention.notificationDays, auditDays: config.retention.auditDays },
  };
  const app = createHttpApp({
    logger,
    translateError: databaseUnavailable,
    verifier,
    metrics,
    checkReadiness,
    registration: config.laRegistration,
    limits: {
      uploadMaxBytes: config.uploadMaxBytes, uploadMaxRecordBytes: config.uploadMaxRecordBytes,
      jsonMaxBytes: config.jsonMaxBytes, maxUrlLength: config.http.maxUrlLength,
    },
    rateLimiter,
    corsOrigins: config.http.corsOrigins,
    publicBaseUrl: config.publicBaseUrl,
    console: { authMode: config.auth.mode, devSignIn },
    software: SOFTWARE,
    useCases: {
      publishBatch: createPublishBatch(publishDeps),
      dryRunBatch: createDryRunBatch(publishDeps),
      getOrganisation: createGetOrganisation({ organisations, clock }),
      updateOrganisation: createUpdateOrganisation({ organisations, clock }),
      getDutyTeams: createGetDutyTeams({ organisations }),
      putDutyTeams: createPutDutyTeams({ organisations }),
      listPlans: createListPlans({ plans: createPostgresPlanStore(pool) }),
      listRefusals: createListRefusals({ uploads }),
      listOutstandingRefusals: createListOutstandingRefusals({ uploads }),
      reportLaUsage: createReportLaUsage(usageDeps),
      reportAllUsage: createReportAllUsage(usageDeps),
      lookupChild: createLookupChild({ lookups, clock, windows: config.visibilityDays, metrics }),
      // Care-setting writes, on the care-setting pool: the LA API's connections are not theirs to take.
      reportNotBrought: createReportNotBrought({ lookups, reports: createPostgresNotBroughtStore(pools.lookups), clock, windows: config.visibilityDays, metrics }),
      readNotifications: createReadNotifications({ notifications }),
      readAcknowledgements: createReadAcknowledgements({ notifications }),
      acknowledgeNotifications,
      issueStreamTicket: createIssueStreamTicket({ tickets, clock, ttlSeconds: config.stream.ticketTtlSeconds }),
      listRegistry: createListRegistry(registryDeps),
      getRegistryEntry: createGetRegistryEntry(registryDeps),
      registerLa: createRegisterLa(registryDeps),
      changeLaStatus: createChangeLaStatus(registryDeps),
    },
    validators: {
      organisation: compileSchema<OrganisationUpdate>(createAjv(), 'organisation.schema.json'),
      dutyTeams: compileSchema<DutyTeamsInput>(createAjv(), 'duty-teams.schema.json'),
      ack: compileSchema<AckSelector>(createAjv(), 'notification-ack.schema.json'),
      laRegistration: compileSchema<LaRegistration>(createAjv(), 'la-registration.schema.json'),
      laStatusChange: compileSchema<{ reason: string }>(createAjv(), 'la-status-change.schema.json'),
      communication: compileSchema<NotBroughtCommunication>(createAjv(), 'was-not-brought-communication.schema.json'),
    },
  });

  let stream: ReturnType<typeof attachStream> | undefined;
  return {
    app,
    pool,
    pools,
    databaseUrl: url,
    setDraining: () => {
      draining = true;
    },
    attachRealtime: (server) => {
      stream = attachStream(server, {
        verifier, tickets, fanout, notifications, acknowledgeNotifications, clock, logger,
        heartbeatMs: config.stream.heartbeatMs, maxFrameBytes: config.stream.maxFrameBytes, metrics, rateLimiter, translateError: databaseUnavailable,
        limits: {
          maxConnectionsPerClient: config.stream.maxConnectionsPerClient, maxConnections: config.stream.maxConnections,
          maxFramesPerSecond: config.stream.maxFramesPerSecond, maxUrlLength: config.http.maxUrlLength,
        },
      });
    },
    closeSockets: () => stream?.close(),
    recheckNhsNumbers: pds?.recheckNhsNumbers,
    runRetention: retention.runRetention,
    escalateAlerts: escalation.escalateAlerts,
    close: async () => {
      stream?.close();
      await recheckJob?.stop();
      await retention.job?.stop();
      await escalation.job?.stop();
      await fanout.stop();
      await endPools(pools);
      await embedded?.stop();
    },
  };
}
