import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isLoopbackHost, type Config } from './config.ts';
import { StartupRefusal } from './startup-refusal.ts';
import type { Clock } from './ports.ts';
import { compose, type Composition } from './compose.ts';
import { answerClientErrors, endWithError } from './http/client-errors.ts';
import { createStartingApp, startingUpgradeError } from './http/starting.ts';

// How often Node looks for requests past their headers or request timeout: the cut-off lands within this of the limit.
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
// After the requests, the database's own closing: jobs end their pass, connections close, an embedded
// PostgreSQL checkpoints. Bounded, so that a connection that will not end cannot hold the exit.
const CLOSE_GRACE_MS = 10_000;

/**
 * What a development instance (any NODE_ENV but production) says at start-up, at warn, so that no
 * one mistakes it for a real one (README, Security: fail closed).
 */
function developmentWarning(config: Config): string {
  const tokens = config.auth.mode === 'dev'
    ? "tokens are signed by a local key in DATA_DIR and the console's dev sign-in makes anyone a social worker of any LA"
    : 'tokens come from the identity provider at AUTH_JWKS_URL';
  return `DEVELOPMENT INSTANCE (NODE_ENV=${config.nodeEnv}): not for real patient data; listening on loopback only; ${tokens}. ` +
    'Set NODE_ENV=production (with its required settings) to run for real';
}

/** A listening instance of the service. */
export type RunningService = { url: string; server: Server; composition: Composition; stop(): Promise<void> };

async function listen(server: Server, config: Config): Promise<string> {
  // loadConfig refuses this already; kept here too, so that no other way of building a Config can bind a dev instance wider.
  if (config.nodeEnv !== 'production' && !isLoopbackHost(config.host))
    throw new StartupRefusal(`HOST=${config.host} is only allowed with NODE_ENV=production: a development instance listens on loopback only`, 78);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}`;
}

/**
 * Listens at once, answering health checks (live, not ready) while it composes the service (waiting
 * for PostgreSQL), then serves. stop() drains in-flight requests (for up to SHUTDOWN_GRACE_MS), then
 * closes the database (for up to CLOSE_GRACE_MS more). `signal` abandons a start that is still waiting.
 */
export async function startService(config: Config, options: { logger: Logger; clock?: Clock; signal?: AbortSignal }): Promise<RunningService> {
  const { http } = config;
  let handle: RequestListener = createStartingApp(options.logger);
  const server = createServer(
    {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      keepAliveTimeout: http.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res) => handle(req, res),
  );
  answerClientErrors(server, { logger: options.logger, limits: http });
  const refuseWhileStarting = (_req: IncomingMessage, socket: Duplex) => endWithError(socket, startingUpgradeError());
  server.on('upgrade', refuseWhileStarting);
  const url = await listen(server, config);
  if (config.nodeEnv !== 'production') options.logger.warn({ nodeEnv: config.nodeEnv, authMode: config.auth.mode, host: config.host }, developmentWarning(config));
  else if (config.laRegistration === 'open')
    options.logger.warn({ laRegistration: 'open' }, 'LA_REGISTRATION=open in production: any LA system with a token may publish without an operator registering it');
  options.logger.info({ healthUrl: `${url}/health/live` }, 'starting: health checks answer meanwhile');

  let composition: Composition;
  try {
    composition = await compose(config, options);
  } catch (error) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  server.removeListener('upgrade', refuseWhileStarting);
  composition.attachRealtime(server);
  handle = composition.app;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      composition.setDraining();
      composition.closeSockets();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(timer);
      const abandoned = await Promise.race([composition.close().then(() => false), sleep(CLOSE_GRACE_MS, true, { ref: false })]);
      if (abandoned) options.logger.warn({ closeGraceMs: CLOSE_GRACE_MS }, 'the database did not close in time; exiting anyway');
    })());
  return { url, server, composition, stop };
}
