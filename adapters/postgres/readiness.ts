import type pg from 'pg';
import type { ReadinessProbe } from '../../src/ports.ts';
import { pendingMigrations } from './migrate.ts';

/** Readiness of the database: reachable, and every migration applied. */
export function createPostgresReadiness(pool: pg.Pool): ReadinessProbe {
  return {
    async check() {
      try {
        await pool.query('SELECT 1');
      } catch {
        return { database: { ok: false, detail: 'PostgreSQL is not reachable' }, migrations: { ok: false, detail: 'unknown' } };
      }
      const pending = await pendingMigrations(pool);
      return {
        database: { ok: true },
        migrations: pending.length === 0 ? { ok: true } : { ok: false, detail: `${pending.length} migration(s) pending` },
      };
    },
  };
}
