import { ConfigError, loadConfig } from './config.ts';
import { createLogger, errorForLog } from './logger.ts';
import { startService } from './service.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
const logger = createLogger(config.logLevel);

try {
  const service = await startService(config, { logger });
  logger.info({ url: service.url }, `cpis listening on ${service.url}`);
  const shutdown = (signal: string) => {
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
} catch (error) {
  logger.fatal({ err: errorForLog(error) }, 'start-up failed');
  process.exit(1);
}
