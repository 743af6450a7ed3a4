import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { listMigrations } from '../../adapters/postgres/migrate.ts';
import { bareLaToken, createTestDatabase, startTestService } from '../support/service.ts';
import { syntheticLaCode } from '../support/synthetic.ts';

const MIGRATIONS = new URL('../../adapters/postgres/migrations/', import.meta.url);

/** A database as the service left it before migration 0009: every earlier migration applied, and recorded. */
async function databaseBefore0009(): Promise<string> {
  const url = await createTestDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const file of (await listMigrations()).filter((f) => f < '0009')) {
      await client.query(await readFile(new URL(file, MIGRATIONS), 'utf8'));
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
    }
  } finally {
    await client.end();
  }
  return url;
}

describe('migration 0009: organisations held before numbers and hours were checked', () => {
  it('rewrites phones to E.164 and hours per day, keeping what each LA said', async () => {
    const url = await databaseBefore0009();
    const [set, bare, odd] = [syntheticLaCode(), syntheticLaCode(), syntheticLaCode()];
    const seed = new pg.Client({ connectionString: url });
    await seed.connect();
    const insert = 'INSERT INTO organisations (code, name, office_hours_phone, edt_phone, office_hours) VALUES ($1, $2, $3, $4, $5)';
    await seed.query(insert, [set, 'Set Council', '0113 496 0000', '0113-496-0999', { timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '08:30', closes: '17:30' }]);
    // An LA that came into being at its first upload: no phones, the default hours of the time.
    await seed.query(insert, [bare, 'Bare Council', null, null, { timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '09:00', closes: '17:00' }]);
    // Hours the old rule never found open (opens after closes), and numbers in other usual forms.
    await seed.query(insert, [odd, 'Odd Council', '+44 (0)20 7946 0000', '00 44 161 496 0999', { timeZone: 'Europe/London', days: ['sat', 'sun'], opens: '17:00', closes: '09:00' }]);
    await seed.end();

    const service = await startTestService({ databaseUrl: url });
    try {
      const weekday = (opens: string, closes: string) => Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, { opens, closes }]));
      const read = async (org: string) => (await service.fetch('/la/v1/organisation', { token: await bareLaToken(service, org) })).json();
      expect(await read(set)).toMatchObject({
        officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999',
        phones: { officeHours: { e164: '+441134960000' }, edt: { e164: '+441134960999' } },
        officeHours: { timeZone: 'Europe/London', days: { ...weekday('08:30', '17:30'), sat: null, sun: null } },
      });
      expect(await read(bare)).toMatchObject({
        officeHoursPhone: null, edtPhone: null, phones: { officeHours: null, edt: null },
        officeHours: { timeZone: 'Europe/London', days: { ...weekday('09:00', '17:00'), sat: null, sun: null } },
      });
      expect(await read(odd)).toMatchObject({
        phones: { officeHours: { national: '020 7946 0000', e164: '+442079460000' }, edt: { national: '0161 496 0999', e164: '+441614960999' } },
        officeHours: { timeZone: 'Europe/London', days: { mon: null, tue: null, wed: null, thu: null, fri: null, sat: null, sun: null } },
        now: { outOfHours: true, until: null },
      });
      const held = await service.composition.pool.query('SELECT code, office_hours_phone, edt_phone FROM organisations WHERE code = ANY($1) ORDER BY name', [[set, bare, odd]]);
      expect(held.rows.map((r) => [r.office_hours_phone, r.edt_phone])).toEqual([[null, null], ['+442079460000', '+441614960999'], ['+441134960000', '+441134960999']]);
    } finally {
      await service.stop();
    }
  });
});
