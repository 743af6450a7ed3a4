import pg from 'pg';
import type { Logger } from 'pino';

const DATE_OID = 1082;

// Dates stay YYYY-MM-DD strings: a JS Date would shift a birth date across a time zone.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Opens a connection pool; pool errors are logged without statement data. */
export function createPool(options: { url: string; max: number; logger: Logger; applicationName?: string }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    types,
    application_name: options.applicationName ?? 'cpis',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => options.logger.error({ code: (error as { code?: string }).code }, 'idle PostgreSQL client error'));
  return pool;
}

/** Runs `work` between BEGIN and COMMIT on the client, rolling back if it throws. */
export async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
