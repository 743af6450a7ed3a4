import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

const MIGRATIONS = new URL('./migrations/', import.meta.url);
// One fixed key: instances starting together take turns, and each finds the others' work done.
const MIGRATION_LOCK = 4_242_001;

/** A migration file as it is now: its name (the version recorded), its SQL and the SHA-256 of its bytes. */
type MigrationFile = { version: string; sql: string; checksum: string };

/** An applied migration whose file no longer has the bytes it was applied from. */
export type ChangedMigration = { version: string; recorded: string; current: string };

/** What a run of migrate() did. */
export type MigrationRun = {
  applied: string[];
  /** Migrations applied before checksums were kept, whose checksum this run recorded from the file. */
  checksumsRecorded: string[];
};

/**
 * Start-up must stop: a migration already applied to this database has changed since. The schema the
 * database holds is then no longer the one the files describe, and nothing can tell which is meant.
 */
export class MigrationChangedError extends Error {
  readonly changed: readonly ChangedMigration[];
  constructor(changed: ChangedMigration[]) {
    const each = changed.map((c) => `${c.version} (applied with sha256 ${c.recorded}; the file now has sha256 ${c.current})`);
    super(
      `${changed.length === 1 ? 'a migration has' : 'migrations have'} changed since ${changed.length === 1 ? 'it was' : 'they were'} applied to this database: ${each.join('; ')}. ` +
        'Restore each file as released (git checkout the release you run, or reinstall it); never edit a migration once it has been applied anywhere: ' +
        'put the change in a new migration file. Nothing was migrated.',
    );
    this.name = 'MigrationChangedError';
    this.changed = changed;
  }
}

/** The migration files, in order. */
export async function listMigrations(directory: URL = MIGRATIONS): Promise<string[]> {
  return (await readdir(directory)).filter((f) => f.endsWith('.sql')).sort();
}

async function readMigrations(directory: URL): Promise<MigrationFile[]> {
  return Promise.all(
    (await listMigrations(directory)).map(async (version) => {
      const bytes = await readFile(new URL(version, directory));
      return { version, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

async function prepareTable(client: pg.PoolClient): Promise<void> {
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), checksum text)');
  // A table made before checksums were kept. Looked up first, so that a start with the column in
  // place takes no lock on the table that every instance's readiness check reads.
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum') AS present`,
  );
  if (!rows[0]?.present) await client.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text');
}

/**
 * Applies every migration not yet applied, each in its own transaction with the SHA-256 of its file,
 * under an advisory lock. First, every applied migration must still have the bytes it was applied
 * from (else MigrationChangedError, and nothing is done); one applied before checksums were kept
 * gets its checksum recorded from the file, once. A row whose file is gone is left alone.
 */
export async function migrate(pool: pg.Pool, options: { directory?: URL } = {}): Promise<MigrationRun> {
  const migrations = await readMigrations(options.directory ?? MIGRATIONS);
  const client = await pool.connect();
  const run: MigrationRun = { applied: [], checksumsRecorded: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await prepareTable(client);
    const recorded = new Map(
      (await client.query<{ version: string; checksum: string | null }>('SELECT version, checksum FROM schema_migrations')).rows.map((r) => [r.version, r.checksum]),
    );
    const changed = migrations.flatMap(({ version, checksum }) => {
      const held = recorded.get(version);
      return typeof held === 'string' && held !== checksum ? [{ version, recorded: held, current: checksum }] : [];
    });
    if (changed.length) throw new MigrationChangedError(changed);
    for (const { version, checksum } of migrations) {
      if (!recorded.has(version) || recorded.get(version) !== null) continue;
      await client.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL', [version, checksum]);
      run.checksumsRecorded.push(version);
    }
    for (const { version, sql, checksum } of migrations) {
      if (recorded.has(version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [version, checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${version} failed: ${(error as Error).message}`, { cause: error });
      }
      run.applied.push(version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return run;
}

/** Migrations present in the code but not in the database. */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const done = await pool
    .query<{ version: string }>('SELECT version FROM schema_migrations')
    .then((r) => new Set(r.rows.map((row) => row.version)))
    .catch(() => new Set<string>());
  return (await listMigrations()).filter((f) => !done.has(f));
}
