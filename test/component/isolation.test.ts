import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, NHS_SYSTEM } from '../support/care-setting.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ env: { DB_LOOKUP_POOL_SIZE: '2', DB_ACQUIRE_TIMEOUT_MS: '1500', RATE_LIMIT_PER_SECOND: '0' } });
});
afterAll(async () => {
  await service?.stop();
});

const careTeam = (nhs: string, token: string, unscheduled = true) =>
  service.fetch(`/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`, {
    token, headers: { IsUnscheduledAccessEvent: String(unscheduled) },
  });

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(25);
  }
}

describe('pools', () => {
  it('answers 503 with Retry-After within DB_ACQUIRE_TIMEOUT_MS when the lookup pool is exhausted, while LA work goes on', async () => {
    const org = syntheticLaCode();
    const la = await laToken(service, org);
    const children = [childRecord(), childRecord(), childRecord()];
    expect((await uploadJson(service, la, 1, children)).status).toBe(201);
    const dr = await clinicianToken(service, { sub: 'pool-dr' });
    const nhs = children.map((c) => c.nhsNumber as string);

    // Another session holds the event counters: each unscheduled lookup then waits inside record_access, holding its connection.
    const blocker = new pg.Client({ connectionString: service.databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE la_event_counters IN EXCLUSIVE MODE');
    const held = [careTeam(nhs[0] as string, dr), careTeam(nhs[1] as string, dr)];
    // Watched from outside the blocker's transaction, whose view of pg_stat_activity is a snapshot.
    const observer = new pg.Client({ connectionString: service.databaseUrl });
    await observer.connect();
    await until(async () => {
      const { rows } = await observer.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'cpis-lookups' AND wait_event_type = 'Lock' AND datname = current_database()`,
      );
      return Number(rows[0]?.n) === 2;
    }, 10_000);
    await observer.end();

    const started = Date.now();
    const [refused, mailbox, upload] = await Promise.all([
      careTeam(nhs[2] as string, dr, false),
      service.fetch('/la/v1/notifications?after=0', { token: la }),
      uploadJson(service, la, 2, [childRecord()]),
    ]);
    const waited = Date.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await refused.json()).issue[0].details.coding[0].code).toBe('UNABLE_TO_CALL_SERVICE');
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(3_000);
    // The general and bulk pools are the LA's: a clinicians' pile-up does not reach them, nor the other way round.
    expect(mailbox.status).toBe(200);
    expect(upload.status).toBe(201);

    await blocker.query('ROLLBACK');
    await blocker.end();
    const answers = await Promise.all(held);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect((await careTeam(nhs[2] as string, dr)).status).toBe(200);
    expect(service.logs.filter((l) => l.includes('unhandled error'))).toEqual([]);
  });
});
