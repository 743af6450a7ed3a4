import type pg from 'pg';
import type { AuditEntry } from '../../src/ports.ts';
import { insertAudit } from './audit.ts';

/** An instance configured otherwise than the deployment it joins: the message says what to do. */
export class DeploymentMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentMismatchError';
  }
}

/**
 * Records the deployment's PDS mode at its first start, and refuses an instance configured otherwise:
 * two instances checking uploads differently would hold verified and unverified flags side by side.
 */
export async function checkPdsMode(pool: pg.Pool, mode: string): Promise<void> {
  await pool.query(`INSERT INTO deployment_settings (name, value) VALUES ('pds_mode', $1) ON CONFLICT (name) DO NOTHING`, [mode]);
  const { rows } = await pool.query<{ value: string }>(`SELECT value FROM deployment_settings WHERE name = 'pds_mode'`);
  const recorded = rows[0]?.value;
  if (recorded !== mode)
    throw new DeploymentMismatchError(
      `PDS_MODE is ${mode} here, but this deployment checks uploads with PDS_MODE=${recorded}: every instance must check them the same way. ` +
        `Start this instance with PDS_MODE=${recorded}, or stop every instance and change the deployment's mode with npm run --silent pds-mode -- ${mode}`,
    );
}

/** Changes the deployment's PDS mode and audits the change, in one transaction; returns the mode it replaced. */
export async function changePdsMode(pool: pg.Pool, mode: string, audit: (from: string | null) => AuditEntry): Promise<string | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ value: string }>(`SELECT value FROM deployment_settings WHERE name = 'pds_mode' FOR UPDATE`);
    const from = rows[0]?.value ?? null;
    await client.query(
      `INSERT INTO deployment_settings (name, value) VALUES ('pds_mode', $1)
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, changed_at = now()`,
      [mode],
    );
    await insertAudit(client, audit(from));
    await client.query('COMMIT');
    return from;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
