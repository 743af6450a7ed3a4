import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate, MigrationChangedError } from '../../adapters/postgres/migrate.ts';
import { StartupRefusal } from '../../src/startup-refusal.ts';
import { MAIN_PATH, runToExit } from '../support/process.ts';
import { createTestDatabase, startTestService } from '../support/service.ts';

// Migrations are recorded with the SHA-256 of their file's bytes; a migration changed after it was
// applied stops start-up (README, Operations; docs/operations.md, Upgrading).

const MIGRATIONS = new URL('../../adapters/postgres/migrations/', import.meta.url);
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const pools: pg.Pool[] = [];
afterAll(async () => {
  for (const pool of pools) await pool.end();
});
function poolOn(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(pool);
  return pool;
}

/** A database the service has migrated, and stopped on. */
async function migratedDatabase(): Promise<string> {
  const url = await createTestDatabase();
  await (await startTestService({ databaseUrl: url })).stop();
  return url;
}

async function recorded(url: string): Promise<Map<string, string | null>> {
  const { rows } = await poolOn(url).query<{ version: string; checksum: string | null }>('SELECT version, checksum FROM schema_migrations');
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

/** A copy of the migrations directory that a test may edit. */
async function copyOfMigrations(): Promise<URL> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'cpis-migrations-')), 'migrations');
  await cp(MIGRATIONS, dir, { recursive: true });
  return pathToFileURL(`${dir}/`);
}

describe('migration checksums', () => {
  it('records the SHA-256 of each file as it is applied, and starts again on the same files', async () => {
    const url = await migratedDatabase();
    const files = await listMigrations();
    const expected = new Map(await Promise.all(files.map(async (f) => [f, sha256(await readFile(new URL(f, MIGRATIONS)))] as const)));
    expect(await recorded(url)).toEqual(expected);

    const again = await startTestService({ databaseUrl: url });
    try {
      expect((await again.fetch('/health/ready')).status).toBe(200);
      expect(again.logs.join('\n')).not.toMatch(/changed since|recorded the checksums|migrations applied/);
    } finally {
      await again.stop();
    }
  });

  it('stops start-up (exit 78) when an applied migration has changed, naming the file, both checksums and what to do', async () => {
    const url = await migratedDatabase();
    const held = (await recorded(url)).get('0005_pds.sql');
    const other = sha256('0005_pds.sql as some other release had it');
    await poolOn(url).query('UPDATE schema_migrations SET checksum = $1 WHERE version = $2', [other, '0005_pds.sql']);

    const refusal = await startTestService({ databaseUrl: url }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StartupRefusal);
    expect((refusal as StartupRefusal).exitCode).toBe(78);
    const { message } = refusal as StartupRefusal;
    expect(message).toContain(`0005_pds.sql (applied with sha256 ${other}; the file now has sha256 ${held})`);
    expect(message).toMatch(/Restore each file as released/);
    expect(message).toMatch(/never edit a migration once it has been applied anywhere: put the change in a new migration file/);

    // The way an operator meets it: the process exits 78 with that one line.
    const run = await runToExit([MAIN_PATH], { DATABASE_URL: url, DATA_DIR: await mkdtemp(path.join(tmpdir(), 'cpis-test-')), PORT: '0', NODE_ENV: 'test' });
    expect(run.code).toBe(78);
    const fatal = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 60);
    expect(fatal.map((l) => l.msg)).toEqual([message]);
  });

  it('refuses a migration file edited after it was applied, and applies nothing after it', async () => {
    const url = await createTestDatabase();
    const pool = poolOn(url);
    const dir = await copyOfMigrations();
    expect((await migrate(pool, { directory: dir })).applied).toEqual(await listMigrations());

    const before = await readFile(new URL('0003_stream.sql', dir));
    await appendFile(new URL('0003_stream.sql', dir), '\n-- a "harmless" comment added later\n');
    await writeFile(new URL('9999_later.sql', dir), 'CREATE TABLE later_migration_ran (id int);\n');
    const error = await migrate(pool, { directory: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationChangedError);
    expect((error as MigrationChangedError).changed).toEqual([
      { version: '0003_stream.sql', recorded: sha256(before), current: sha256(await readFile(new URL('0003_stream.sql', dir))) },
    ]);
    expect((await pool.query(`SELECT to_regclass('later_migration_ran') AS t`)).rows[0].t).toBeNull();

    // Restored as released, it migrates on.
    await writeFile(new URL('0003_stream.sql', dir), before);
    expect(await migrate(pool, { directory: dir })).toEqual({ applied: ['9999_later.sql'], checksumsRecorded: [] });
  });

  it('records, once, the checksums of migrations applied before checksums were kept', async () => {
    const url = await migratedDatabase();
    const pool = poolOn(url);
    const files = await listMigrations();
    const released = await recorded(url);
    // The table as every earlier release left it: no checksum column.
    await pool.query('ALTER TABLE schema_migrations DROP COLUMN checksum');

    const service = await startTestService({ databaseUrl: url });
    try {
      expect((await service.fetch('/health/ready')).status).toBe(200);
      const line = service.logs.map((l) => JSON.parse(l) as { msg: string; migrations?: string[] }).find((l) => l.msg.startsWith('recorded the checksums'));
      expect(line?.migrations).toEqual(files);
    } finally {
      await service.stop();
    }
    expect(await recorded(url)).toEqual(released);
    expect(await migrate(pool)).toEqual({ applied: [], checksumsRecorded: [] });

    // From then on a change is caught like any other.
    await pool.query(`UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = $1`, [files[0]]);
    await expect(migrate(pool)).rejects.toBeInstanceOf(MigrationChangedError);
  });
});
