import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from '../../adapters/postgres/embedded.ts';

/** The PostgreSQL a benchmark runs on, and the fresh databases it made there. */
export type BenchPostgres = {
  kind: 'embedded' | 'external';
  serverVersion: string;
  createDatabase(prefix: string): Promise<string>;
  close(): Promise<void>;
};

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * DATABASE_URL when set (its server must let that user create databases), else the project's
 * embedded PostgreSQL in a temporary directory. Either way every database is fresh and dropped after.
 */
export async function openBenchPostgres(): Promise<BenchPostgres> {
  let adminUrl = process.env.DATABASE_URL ?? '';
  let dir: string | undefined;
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  const stopEmbedded = async () => {
    await embedded?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  let serverVersion: string;
  try {
    if (!adminUrl) {
      dir = await mkdtemp(path.join(tmpdir(), 'cpis-bench-pg-'));
      embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0, logger: pino({ level: 'warn' }) });
      adminUrl = embedded.url;
    }
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(adminUrl).hostname)) {
      throw new Error('the benchmark only runs against a PostgreSQL on the loopback interface');
    }
    serverVersion = await withClient(adminUrl, async (c) => (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? '?');
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
  const created: string[] = [];
  return {
    kind: embedded ? 'embedded' : 'external',
    serverVersion,
    async createDatabase(prefix) {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      try {
        if (!embedded) {
          await withClient(adminUrl, async (c) => {
            for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          });
        }
      } finally {
        await stopEmbedded();
      }
    },
  };
}
