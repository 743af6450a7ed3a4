import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

const MIGRATIONS = new URL('./migrations/', import.meta.url);
// One fixed key: instances starting together take turns, and each finds the others' work done.
const MIGRATION_LOCK = 4_242_001;

/** The migration files, in order. */
export async function listMigrations(): Promise<string[]> {
  return (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql')).sort();
}

/** Applies every migration not yet applied, each in its own transaction, under an advisory lock. */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const file of await listMigrations()) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, MIGRATIONS), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** Migrations present in the code but not in the database. */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const done = await pool
    .query<{ version: string }>('SELECT version FROM schema_migrations')
    .then((r) => new Set(r.rows.map((row) => row.version)))
    .catch(() => new Set<string>());
  return (await listMigrations()).filter((f) => !done.has(f));
}
