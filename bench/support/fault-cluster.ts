import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TokenClaims } from '../../adapters/auth/dev-keys.ts';
import { sharedKeyTokens } from '../../test/support/shared-key.ts';
import { startRestartablePostgres, type RestartablePostgres } from '../../test/support/restartable-postgres.ts';
import { spawnService, type ChildService } from './child-service.ts';
import { createLogTally, type LogCounts } from './log-tally.ts';
import { msUntil200, timedGet } from './probe.ts';

// Small pools, so that the ceiling means something: a leak or a reconnect storm passes it at once.
export const POOLS = { DB_POOL_SIZE: 4, DB_LOOKUP_POOL_SIZE: 4, DB_BULK_POOL_SIZE: 2 };
/** The most connections an instance should ever hold to PostgreSQL: its three pools and the LISTEN connection. */
export const CONNECTION_CEILING = POOLS.DB_POOL_SIZE + POOLS.DB_LOOKUP_POOL_SIZE + POOLS.DB_BULK_POOL_SIZE + 1;
const TOKEN_TTL_SECONDS = 3600;
const READY_TIMEOUT_MS = 60_000;

export type Instance = { name: string; service: ChildService; logs: () => LogCounts };

/** Two instances of the service on one PostgreSQL that the benchmark can stop and start. */
export type FaultCluster = {
  db: RestartablePostgres;
  serverVersion: string;
  instances: [Instance, Instance];
  mint(claims: TokenClaims): Promise<string>;
  close(): Promise<void>;
};

async function serverVersionOf(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, application_name: 'cpis-bench' });
  await client.connect();
  try {
    return (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '?';
  } finally {
    await client.end();
  }
}

async function spawnInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const tally = createLogTally();
  const service = await spawnService(env, [], { onLog: tally.onLog });
  return { name, service, logs: tally.counts };
}

async function untilReady(instance: Instance): Promise<void> {
  const ms = await msUntil200(() => timedGet(`${instance.service.url}/health/ready`), performance.now(), 50, READY_TIMEOUT_MS, {});
  if (ms === null) throw new Error(`instance ${instance.name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

/**
 * Starts the restartable PostgreSQL and two instances sharing it and one DATA_DIR (so one dev key
 * signs for both). On any failure, whatever was started is stopped again before the error goes on.
 */
export async function startFaultCluster(): Promise<FaultCluster> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
  };
  try {
    const db = await startRestartablePostgres();
    cleanups.push(() => db.close());
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-bench-faults-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // Made before the instances start, so both verify with the very key this process signs with.
    const tokens = await sharedKeyTokens(dataDir);
    const env = {
      DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AUTH_MODE: 'dev', PDS_MODE: 'off',
      RATE_LIMIT_PER_SECOND: '0', RETENTION_INTERVAL_SECONDS: '0', OUTBOX_SWEEP_MS: '500',
      ...Object.fromEntries(Object.entries(POOLS).map(([k, v]) => [k, String(v)])),
    };
    const spawned = await Promise.allSettled([spawnInstance('A', env), spawnInstance('B', env)]);
    for (const s of spawned) if (s.status === 'fulfilled') cleanups.push(() => s.value.service.stop());
    const failed = spawned.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const instances = spawned.map((s) => (s as PromiseFulfilledResult<Instance>).value) as [Instance, Instance];
    await Promise.all(instances.map(untilReady));
    return { db, serverVersion: await serverVersionOf(db.url), instances, mint: (claims) => tokens(claims, TOKEN_TTL_SECONDS), close };
  } catch (error) {
    await close();
    throw error;
  }
}
