import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../../adapters/postgres/embedded.ts';

/** A PostgreSQL of the test's own that it can stop and start again on the same port: a real outage. */
export type RestartablePostgres = {
  url: string;
  port: number;
  /** Stops the server (a fast shutdown: every connection is terminated) and resolves once it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Connections open to the server's database right now, by application_name. */
  connections(): Promise<Record<string, number>>;
  close(): Promise<void>;
};

/** Initialises a fresh embedded cluster in a temporary directory, on a port chosen once for good. */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-outage-pg-'));
  const port = await freePort();
  const logger = pino({ level: 'silent' });
  let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, port, logger });
  const url = server.url;
  return {
    url,
    port,
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      server ??= await startEmbeddedPostgres({ dataDir, port, logger });
    },
    async connections() {
      const client = new pg.Client({ connectionString: url, application_name: 'test-observer' });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string; n: string }>(
          `SELECT application_name AS name, count(*) AS n FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
        );
        return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
      } finally {
        await client.end();
      }
    },
    async close() {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
