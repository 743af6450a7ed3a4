import { ConfigError, loadConfig } from './config.ts';
import { createLogger, errorForLog } from './logger.ts';
import { startService, type RunningService } from './service.ts';
import { StartupRefusal } from './startup-refusal.ts';

// Exit code an orchestrator can act on (sysexits.h): bad configuration.
const EXIT_CONFIG = 78;

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw error;
}
const logger = createLogger(config.logLevel);

// A signal while the instance still waits for PostgreSQL abandons the start; once it serves, it drains.
const starting = new AbortController();
let service: RunningService | undefined;
const shutdown = (signal: string) => {
  if (!service) {
    logger.info({ signal }, 'start-up abandoned on a signal');
    starting.abort();
    return;
  }
  logger.info({ signal }, 'shutting down: draining requests');
  service.stop().then(
    () => {
      logger.info('stopped');
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: errorForLog(error) }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

try {
  const started = await startService(config, { logger, signal: starting.signal });
  if (starting.signal.aborted) {
    // The signal came after the wait (while migrating): stop what started, then leave.
    await started.stop();
    process.exit(0);
  }
  service = started;
  logger.info({ url: service.url }, `cpis listening on ${service.url}`);
} catch (error) {
  if (starting.signal.aborted) process.exit(0);
  if (error instanceof StartupRefusal) {
    logger.fatal(error.message);
    process.exit(error.exitCode);
  }
  logger.fatal({ err: errorForLog(error) }, 'start-up failed');
  process.exit(1);
}
