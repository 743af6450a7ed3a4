import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { listMigrations } from '../../adapters/postgres/migrate.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import { bareLaToken, createTestDatabase, startTestService, uploadJson } from '../support/service.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';

const MIGRATIONS = new URL('../../adapters/postgres/migrations/', import.meta.url);

/** A database as the service left it before migration 0019: every earlier migration applied, and recorded. */
async function databaseBefore0019(): Promise<string> {
  const url = await createTestDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const file of (await listMigrations()).filter((f) => f < '0019')) {
      await client.query(await readFile(new URL(file, MIGRATIONS), 'utf8'));
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
    }
  } finally {
    await client.end();
  }
  return url;
}

describe('migration 0019: the LA registry', () => {
  it('registers the LAs already publishing, saying so, and not those that only set their details, so that required mode stops no live feed', async () => {
    const url = await databaseBefore0019();
    const [publishing, waiting] = [syntheticLaCode(), syntheticLaCode()];
    const seed = new pg.Client({ connectionString: url });
    await seed.connect();
    for (const code of [publishing, waiting])
      await seed.query('INSERT INTO organisations (code, name, office_hours_phone, edt_phone, office_hours) VALUES ($1, $2, $3, $4, $5)', [
        code, `${code} Council`, '+441134960500', '+441134960599', JSON.stringify(DEFAULT_OFFICE_HOURS),
      ]);
    const acknowledgement = { uploadId: randomUUID(), sequenceNumber: 4, result: 'CPF03', processed: 2, loaded: 1, rejected: 1, records: [], refusalCounts: [{ result: 'CPR07', code: 'NHS_NUMBER_CHECKSUM', count: 1 }] };
    await seed.query(
      `INSERT INTO uploads (id, la_code, sequence_number, received_at, uploaded_by, result, processed, loaded, rejected, acknowledgement)
       VALUES ($1, $2, 4, now() - interval '1 hour', 'la-system-user', 'CPF03', 2, 1, 1, $3)`,
      [acknowledgement.uploadId, publishing, JSON.stringify(acknowledgement)],
    );
    await seed.end();

    const service = await startTestService({ databaseUrl: url, env: { LA_REGISTRATION: 'required' } });
    try {
      const ops = await service.token({ role: 'ops', org: 'OPS01' });
      const read = async (code: string) => (await service.fetch(`/ops/v1/las/${code}`, { token: ops })).json();
      expect(await read(publishing)).toMatchObject({
        registered: true, registeredBy: 'migration 0019 (already publishing)', status: 'active', publishing: { allowed: true },
        feed: { lastUpload: { sequenceNumber: 4, result: 'CPF03', refusals: acknowledgement.refusalCounts } },
      });
      expect(await read(waiting)).toMatchObject({ registered: false, registeredAt: null, publishing: { allowed: false, refusal: 'LA_NOT_REGISTERED' } });
      expect((await uploadJson(service, await bareLaToken(service, publishing), 5, [childRecord()])).status).toBe(201);
      expect((await uploadJson(service, await bareLaToken(service, waiting), 1, [childRecord()])).status).toBe(409);
    } finally {
      await service.stop();
    }
  });
});
