import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { errorForLog } from '../logger.ts';
import { CliError, EXIT } from './operator-tool.ts';
import { EmbeddedPostgresMissingError, runningEmbeddedUrl, startEmbeddedPostgres } from '../../adapters/postgres/embedded.ts';
import { createPool, endPool } from '../../adapters/postgres/pool.ts';

export type CliDatabase = { pool: pg.Pool; close(): Promise<void> };

/**
 * The service's database for an operator's tool: DATABASE_URL; else the embedded PostgreSQL a running
 * service has up under DATA_DIR; else that cluster, started here and stopped by close(). `check` runs
 * once connected (e.g. for missing migrations) and may throw a CliError.
 */
export async function openCliDatabase(
  config: Config,
  logger: Logger,
  options: { applicationName: string; check: (pool: pg.Pool) => Promise<void> },
): Promise<CliDatabase> {
  let url = config.databaseUrl || (await runningEmbeddedUrl(config.dataDir));
  let stopEmbedded = async () => {};
  if (!url) {
    const dataDir = path.resolve(config.dataDir);
    if (!existsSync(path.join(dataDir, 'pg', 'PG_VERSION')))
      throw new CliError(`no database under DATA_DIR ${dataDir}: set DATA_DIR to the service's, or DATABASE_URL`, EXIT.unavailable);
    const embedded = await startEmbeddedPostgres({ dataDir, port: config.embeddedPgPort, logger }).catch((error: unknown) => {
      if (error instanceof EmbeddedPostgresMissingError) throw new CliError(error.message, EXIT.config);
      throw new CliError(`cannot start the embedded PostgreSQL: ${errorForLog(error).message}`, EXIT.unavailable);
    });
    url = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const pool = createPool({ url, max: 2, logger, applicationName: options.applicationName });
  const close = async () => {
    await endPool(pool);
    await stopEmbedded();
  };
  try {
    await pool.query('SELECT 1');
    await options.check(pool);
  } catch (error) {
    await close();
    throw error instanceof CliError ? error : new CliError(`cannot use PostgreSQL: ${errorForLog(error).message}`, EXIT.unavailable);
  }
  return { pool, close };
}
