import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import copyStreams from 'pg-copy-streams';
import { createPool } from '../../adapters/postgres/pool.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import type { SyntheticRecord } from '../../src/cli/synthetic-register.ts';
import { copyCsv, PLAN_COLUMNS } from './bodies.ts';

export type CopyResult = { rows: number; ms: number };

/**
 * The floor the service is compared with: the same rows straight into the same schema (indexes,
 * constraints, foreign key) with one COPY, on the same server, generated on the fly the same way.
 */
export async function copyBaseline(databaseUrl: string, laCode: string, records: Iterable<SyntheticRecord>): Promise<CopyResult> {
  const pool = createPool({ url: databaseUrl, max: 2, logger: pino({ level: 'warn' }), applicationName: 'cpis-bench' });
  try {
    await migrate(pool);
    await pool.query('INSERT INTO organisations (code, name, office_hours) VALUES ($1, $2, $3)', [laCode, `${laCode} (COPY baseline)`, JSON.stringify(DEFAULT_OFFICE_HOURS)]);
    const client = await pool.connect();
    try {
      const started = performance.now();
      await pipeline(Readable.from(copyCsv(laCode, records)), client.query(copyStreams.from(`COPY plans (${PLAN_COLUMNS}) FROM STDIN (FORMAT csv)`)));
      const ms = performance.now() - started;
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM plans WHERE la_code = $1', [laCode]);
      return { rows: Number(rows[0]?.n ?? 0), ms };
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}
