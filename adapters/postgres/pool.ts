import { once } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';

const DATE_OID = 1082;

// Dates stay YYYY-MM-DD strings: a JS Date would shift a birth date across a time zone.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The instance's pools, each for one kind of work, so that none can starve another. */
export type Pools = Readonly<{
  /** LA API, mailbox, stream, tickets, health. */
  general: pg.Pool;
  /** Care-setting lookups only. */
  lookups: pg.Pool;
  /** Uploads (staging, commit), retention and PDS re-check jobs. */
  bulk: pg.Pool;
}>;

export type PoolName = keyof Pools;

const openClients = new WeakMap<pg.Pool, Set<pg.PoolClient>>();

/**
 * Opens a connection pool. Waiting for a connection ends after `acquireTimeoutMs` (the caller then
 * answers 503) rather than queueing behind an exhausted pool or a server that is down. Idle clients
 * that lose their server are dropped by pg and logged once each, without statement data.
 */
export function createPool(options: { url: string; max: number; logger: Logger; applicationName?: string; acquireTimeoutMs?: number }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    types,
    application_name: options.applicationName ?? 'cpis',
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    // A server that vanished without closing its sockets is noticed by the kernel, not only at the next query.
    keepAlive: true,
  });
  const open = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => open.delete(client));
  });
  openClients.set(pool, open);
  pool.on('error', (error) =>
    options.logger.warn({ pool: options.applicationName ?? 'cpis', code: (error as { code?: string }).code }, 'idle PostgreSQL connection lost; the pool will open a new one'),
  );
  return pool;
}

/** The general, lookup and bulk pools of one instance, each named in pg_stat_activity.application_name. */
export function createPools(options: { url: string; sizes: Readonly<Record<PoolName, number>>; logger: Logger; acquireTimeoutMs: number }): Pools {
  const open = (name: PoolName, applicationName: string) =>
    createPool({ url: options.url, max: options.sizes[name], logger: options.logger, applicationName, acquireTimeoutMs: options.acquireTimeoutMs });
  return Object.freeze({ general: open('general', 'cpis'), lookups: open('lookups', 'cpis-lookups'), bulk: open('bulk', 'cpis-bulk') });
}

/**
 * Ends a pool and waits until its connections are closed. pool.end() resolves once it has asked them
 * to end: stopping an embedded server before they are gone makes it terminate them, which it logs as
 * a FATAL error. A connection already lost is no error.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  const open = [...(openClients.get(pool) ?? [])];
  const closed = Promise.all(open.map((client) => once(client, 'end').catch(() => undefined)));
  await pool.end().catch(() => undefined);
  await closed;
}

/** Ends every pool of the instance (see endPool). */
export async function endPools(pools: Pools): Promise<void> {
  await Promise.all(Object.values(pools).map(endPool));
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
