import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Bundle, Organization } from 'fhir/r4.d.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clinicianToken, includes, matches, searchFor } from '../support/care-setting.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { createTestDatabase, laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';

// The lookup path's read model of the register (issue 13; adapters/postgres/register-cache.ts): a
// lookup may be answered from memory, but never with what the register no longer says.
let a: TestService;
let b: TestService;
let db: pg.Pool;
let la: string;
let laTok: string;
let sequence = 0;
beforeAll(async () => {
  const databaseUrl = await createTestDatabase();
  // One DATA_DIR for the dev signing key, so one token is good on both instances.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-register-'));
  a = await startTestService({ databaseUrl, dataDir });
  b = await startTestService({ databaseUrl, dataDir });
  db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  la = syntheticLaCode();
  laTok = await laToken(a, la);
});
afterAll(async () => {
  await db?.end();
  await Promise.all([a?.stop(), b?.stop()]);
});

const silent = { IsUnscheduledAccessEvent: 'false' };
async function flags(service: TestService, nhsNumber: string): Promise<Bundle> {
  return searchFor(service, await clinicianToken(service, { sub: 'cache-gp', setting: 'gp', activities: ['B0170'] }), 'Flag', nhsNumber, silent);
}
const found = async (service: TestService, nhsNumber: string) => matches(await flags(service, nhsNumber)).length;
const telecomShown = async (service: TestService, nhsNumber: string) =>
  JSON.stringify(includes(await flags(service, nhsNumber)).find((r): r is Organization => r.resourceType === 'Organization')?.telecom);
const publish = async (records: unknown[]) => {
  const res = await uploadJson(a, laTok, ++sequence, records);
  expect(res.status).toBe(201);
};
/** The Bundle's entries with each urn:uuid replaced by its order of first appearance. */
function renamed(bundle: Bundle): unknown {
  const names = new Map<string, string>();
  const text = JSON.stringify(bundle.entry).replace(/urn:uuid:[0-9a-f-]{36}/g, (u) => names.get(u) ?? (names.set(u, `urn:uuid:${names.size}`), `urn:uuid:${names.size - 1}`));
  return JSON.parse(text);
}
async function reads(service: TestService): Promise<{ hit: number; miss: number }> {
  const text = await (await service.fetch('/metrics')).text();
  const value = (result: string) => Number(text.match(new RegExp(`^cpis_register_cache_reads_total\\{result="${result}"\\} (\\d+)`, 'm'))?.[1] ?? NaN);
  return { hit: value('hit'), miss: value('miss') };
}

describe('the register read model', () => {
  it('answers a repeated lookup from memory, with the same answer the register gave', async () => {
    const child = childRecord();
    await publish([child]);
    const first = await flags(a, child.nhsNumber as string);
    const before = await reads(a);
    const again = await flags(a, child.nhsNumber as string);
    const after = await reads(a);
    expect(after.hit - before.hit).toBe(1);
    expect(after.miss - before.miss).toBe(0);
    // The same resources; only the entries' fresh urn:uuid names differ from one answer to the next.
    expect(renamed(again)).toEqual(renamed(first));
  });

  it('shows a plan published through this instance in its very next lookup, though the last lookup found nothing', async () => {
    const child = childRecord();
    expect(await found(a, child.nhsNumber as string)).toBe(0);
    expect(await found(b, child.nhsNumber as string)).toBe(0);
    await publish([child]);
    expect(await found(a, child.nhsNumber as string)).toBe(1);
    // The other instance hears of it by the notification, well before its entry could have expired.
    await vi.waitFor(async () => expect(await found(b, child.nhsNumber as string)).toBe(1), { timeout: 3_000, interval: 20 });
  });

  it('forgets what any other writer changes in the register: an LA\'s number, a plan removed', async () => {
    const child = childRecord();
    await publish([child]);
    const before = await telecomShown(b, child.nhsNumber as string);
    expect(await found(b, child.nhsNumber as string)).toBe(1);
    await db.query(`UPDATE organisations SET edt_phone = '+441134960777' WHERE code = $1`, [la]);
    await vi.waitFor(async () => expect(await telecomShown(b, child.nhsNumber as string)).not.toBe(before), { timeout: 3_000, interval: 20 });
    expect(await telecomShown(b, child.nhsNumber as string)).toMatch(/496 ?0777/);
    await db.query('DELETE FROM plans WHERE nhs_number = $1', [child.nhsNumber]);
    await vi.waitFor(async () => expect(await found(b, child.nhsNumber as string)).toBe(0), { timeout: 3_000, interval: 20 });
  });

  it('reads the register again once its LISTEN connection has been lost and has come back', async () => {
    const child = childRecord();
    await publish([child]);
    expect(await found(b, child.nhsNumber as string)).toBe(1);
    // Both instances' listeners go; the plan goes while nobody can be told.
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cpis-listener' AND datname = current_database()`);
    await db.query('DELETE FROM plans WHERE nhs_number = $1', [child.nhsNumber]);
    await vi.waitFor(async () => {
      expect((await (await b.fetch('/metrics')).text())).toMatch(/^cpis_outbox_listener_connected 1$/m);
    }, { timeout: 5_000, interval: 50 });
    expect(await found(b, child.nhsNumber as string)).toBe(0);
  });
});

describe('the register read model, with the change notifications taken away', () => {
  // Triggers dropped in a database of its own: only what each instance does itself can make it forget.
  let one: TestService;
  let two: TestService;
  let raw: pg.Pool;
  let org: string;
  let token: string;
  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-register-quiet-'));
    one = await startTestService({ databaseUrl, dataDir });
    two = await startTestService({ databaseUrl, dataDir, env: { REGISTER_CACHE_TTL_SECONDS: '1' } });
    raw = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    for (const t of ['plans_register_changed', 'plans_register_truncated']) await raw.query(`DROP TRIGGER ${t} ON plans`);
    for (const t of ['organisations_register_changed', 'organisations_register_truncated']) await raw.query(`DROP TRIGGER ${t} ON organisations`);
    org = syntheticLaCode();
    token = await laToken(one, org);
  });
  afterAll(async () => {
    await raw?.end();
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('still shows an instance its own changes at once; another instance only once its entry has expired', async () => {
    const child = childRecord();
    expect(await found(one, child.nhsNumber as string)).toBe(0);
    expect(await found(two, child.nhsNumber as string)).toBe(0);
    expect((await uploadJson(one, token, 1, [child])).status).toBe(201);
    // The instance that took the upload forgot by itself.
    expect(await found(one, child.nhsNumber as string)).toBe(1);
    // The other was never told: it answers from memory, as it was, until REGISTER_CACHE_TTL_SECONDS (1 s) ends the entry.
    expect(await found(two, child.nhsNumber as string)).toBe(0);
    await vi.waitFor(async () => expect(await found(two, child.nhsNumber as string)).toBe(1), { timeout: 3_000, interval: 100 });

    // So does an LA's change of its own numbers.
    const before = await telecomShown(one, child.nhsNumber as string);
    const put = await one.fetch('/la/v1/organisation', {
      method: 'PUT', token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${org} Council`, officeHoursPhone: '0113 496 0500', edtPhone: '0113 496 0788' }),
    });
    expect(put.status).toBe(200);
    const after = await telecomShown(one, child.nhsNumber as string);
    expect(after).not.toBe(before);
    expect(after).toMatch(/496 ?0788/);
  });
});
