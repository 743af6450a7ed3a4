import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../adapters/postgres/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedPostgres | undefined;
let dir: string | undefined;

/** One PostgreSQL for the run: DATABASE_URL when given (CI speed), else the embedded one. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = await mkdtemp(path.join(tmpdir(), 'cpis-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0, logger: pino({ level: 'silent' }) });
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
