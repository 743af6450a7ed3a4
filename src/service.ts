import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Clock } from './ports.ts';
import { compose, type Composition } from './compose.ts';
import { answerClientErrors } from './http/client-errors.ts';

// How often Node looks for requests past their headers or request timeout: the cut-off lands within this of the limit.
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** A listening instance of the service. */
export type RunningService = { url: string; server: Server; composition: Composition; stop(): Promise<void> };

/** Composes the service and listens; stop() drains in-flight requests, then closes the database. */
export async function startService(config: Config, options: { logger: Logger; clock?: Clock }): Promise<RunningService> {
  const composition = await compose(config, options);
  const { http } = config;
  const server = createServer(
    {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      keepAliveTimeout: http.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    composition.app,
  );
  answerClientErrors(server, { logger: options.logger, limits: http });
  composition.attachRealtime(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (error: unknown) => {
    await composition.close();
    throw error;
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
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
      await composition.close();
    })());
  return { url: `http://${host}:${port}`, server, composition, stop };
}
