import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '../../adapters/postgres/audit-chain.ts';
import { createPostgresLookupStore } from '../../adapters/postgres/lookup-store.ts';
import { isDatabaseUnavailable } from '../../adapters/postgres/unavailable.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import type { Identity } from '../../src/domain/identity.ts';
import type { AuditEntry, LookupStore } from '../../src/ports.ts';
import { retentionOf } from '../support/audit-trails.ts';
import { createTestDatabase } from '../support/service.ts';
import { syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';

let pool: pg.Pool;
beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 6 });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
});

const clinician = (sub = 'dr-group'): Identity => ({
  sub, name: `Dr ${sub}`, role: 'clinician', org: 'RXX01', orgName: 'Example Hospital', setting: 'emergency-department', activities: ['B0107', 'B0170'],
});
const entry = (requestId: string, nhsNumber: string | null = syntheticNhsNumber(), identity = clinician()): AuditEntry => ({
  at: new Date(), action: 'search:CareTeam', outcome: 'found', nhsNumber, unscheduled: false, requestId, identity,
});
const rowsOf = async (table: string, prefix: string) =>
  (await pool.query<{ request_id: string; seq: string; lane: number }>(`SELECT request_id, lane, seq FROM ${table} WHERE request_id LIKE $1 ORDER BY request_id`, [`${prefix}%`])).rows;
const store = (maxInFlight = 1): LookupStore => createPostgresLookupStore(pool, { maxInFlight, maxBatch: 256 });

describe('grouped search audits', () => {
  it('commits every row before its caller hears back, several to one transaction, and the chain stays intact', async () => {
    const lookups = store();
    const ids = Array.from({ length: 200 }, (_, i) => `batch-${String(i).padStart(3, '0')}`);
    // Each caller checks its own row is there the moment its promise settles.
    const seen = await Promise.all(ids.map(async (id) => {
      await lookups.recordAudit(entry(id), 'lasting', 0);
      return (await pool.query('SELECT 1 FROM audit_events WHERE request_id = $1', [id])).rowCount;
    }));
    expect(seen).toEqual(ids.map(() => 1));
    const rows = await rowsOf('audit_events', 'batch-');
    expect(rows.map((r) => r.request_id)).toEqual(ids);
    // One writer at a time: the 199 that waited behind the first went in few transactions, each in one lane.
    expect(new Set(rows.map((r) => r.lane)).size).toBeLessThan(20);
    expect(await verifyAuditChains(pool, { retentionDays: retentionOf() })).toMatchObject({ ok: true });
  });

  it('writes the rows of the unmatched-search trail to their own chain', async () => {
    const lookups = store();
    await Promise.all(Array.from({ length: 20 }, (_, i) => lookups.recordAudit(entry(`unmatched-${i}`), 'unmatched', 0)));
    expect(await rowsOf('unmatched_search_events', 'unmatched-')).toHaveLength(20);
    expect(await rowsOf('audit_events', 'unmatched-')).toHaveLength(0);
  });

  it('fails only the row the database refuses, not the others of its group', async () => {
    const lookups = store();
    // Occupy the writer so that the next ones form one group.
    const first = lookups.recordAudit(entry('refuse-000'), 'lasting', 0);
    const rest = ['refuse-001', 'refuse-002', 'refuse-003'].map((id) => lookups.recordAudit(entry(id), 'lasting', 0));
    // An NHS number column is char(10): this one cannot be stored.
    const bad = lookups.recordAudit(entry('refuse-bad', '99900000181'), 'lasting', 0);
    const outcomes = await Promise.allSettled([first, ...rest, bad]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((await rowsOf('audit_events', 'refuse-')).map((r) => r.request_id)).toEqual(['refuse-000', 'refuse-001', 'refuse-002', 'refuse-003']);
  });

  it('fails every waiting row, and keeps none half-written, when the database cannot be reached', async () => {
    const gone = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    try {
      const lookups = createPostgresLookupStore(gone, { maxInFlight: 1, maxBatch: 256 });
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => lookups.recordAudit(entry(`gone-${i}`), 'lasting', 0)));
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    } finally {
      await gone.end();
    }
  });

  it("returns with each audit the history asked for, each child's own, newest first", async () => {
    const lookups = store();
    const [seen, unseen] = [syntheticNhsNumber(), syntheticNhsNumber()];
    for (let i = 0; i < 3; i++) {
      await lookups.recordAccess({ ...entry(`seen-${i}`, seen, clinician(`dr-seen-${i}`)), unscheduled: true }, [], 25);
    }
    const [both, none, limited] = await Promise.all([
      lookups.recordAudit(entry('history-1', seen), 'lasting', 25),
      lookups.recordAudit(entry('history-2', unseen), 'lasting', 25),
      lookups.recordAudit(entry('history-3', seen), 'lasting', 2),
    ]);
    expect(both.map((a) => a.userId)).toEqual(['dr-seen-2', 'dr-seen-1', 'dr-seen-0']);
    expect(none).toEqual([]);
    expect(limited.map((a) => a.userId)).toEqual(['dr-seen-2', 'dr-seen-1']);
  });
});

describe('grouped unscheduled accesses', () => {
  const notify = (laCode: string, nhsNumber: string) => ({ laCode, body: { nhsNumber } as never });
  const eventsOf = async (laCode: string) =>
    (await pool.query<{ event_number: string }>('SELECT event_number FROM notifications WHERE la_code = $1 ORDER BY event_number', [laCode])).rows.map((r) => Number(r.event_number));

  it('numbers each LA gap-free across groups, records one access per user and child, and includes it in the history returned', async () => {
    const [la1, la2] = [syntheticLaCode(), syntheticLaCode()];
    const lookups = store(2);
    const children = Array.from({ length: 30 }, () => syntheticNhsNumber());
    // 30 children, each looked up twice at once by the same clinician: one access each, one notification per owning LA.
    const calls = children.flatMap((nhs, i) => [0, 1].map((k) =>
      lookups.recordAccess({ ...entry(`access-${i}-${k}`, nhs), unscheduled: true }, i % 3 === 0 ? [notify(la1, nhs), notify(la2, nhs)] : [notify(la1, nhs)], 25)));
    const recorded = await Promise.all(calls);
    // Exactly one of each pair counted as first.
    for (let i = 0; i < children.length; i++) {
      const pair = [recorded[2 * i], recorded[2 * i + 1]];
      expect(pair.filter((r) => r!.created.length > 0)).toHaveLength(1);
      for (const r of pair) expect(r!.history.map((a) => a.userId)).toEqual(['dr-group']);
    }
    expect(await eventsOf(la1)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await eventsOf(la2)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    const created = recorded.flatMap((r) => r.created).filter((c) => c.laCode === la1).map((c) => c.eventNumber).sort((a, b) => a - b);
    expect(created).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await rowsOf('audit_events', 'access-')).length).toBe(60);
    expect(await verifyAuditChains(pool, { retentionDays: retentionOf() })).toMatchObject({ ok: true });
  });

  it('fails only the access the database refuses; the others of its group are recorded and numbered', async () => {
    const la = syntheticLaCode();
    const lookups = store();
    const first = lookups.recordAccess({ ...entry('refused-access-0'), unscheduled: true }, [notify(la, syntheticNhsNumber())], 25);
    const good = [1, 2].map((i) => { const nhs = syntheticNhsNumber(); return lookups.recordAccess({ ...entry(`refused-access-${i}`, nhs), unscheduled: true }, [notify(la, nhs)], 25); });
    const bad = lookups.recordAccess({ ...entry('refused-access-bad', '99900000181'), unscheduled: true }, [notify(la, '99900000181')], 25);
    const outcomes = await Promise.allSettled([first, ...good, bad]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect(await eventsOf(la)).toEqual([1, 2, 3]);
    expect((await rowsOf('audit_events', 'refused-access-')).map((r) => r.request_id)).toEqual(['refused-access-0', 'refused-access-1', 'refused-access-2']);
  });
});

describe('lookups queued behind groups stuck at the database', () => {
  it('fail as the database being unavailable after maxWaitMs, and the ones after them still go once it moves', async () => {
    const la = syntheticLaCode();
    const lookups = createPostgresLookupStore(pool, { maxInFlight: 1, maxBatch: 256, maxWaitMs: 400 });
    const nhs = syntheticNhsNumber();
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE la_event_counters IN EXCLUSIVE MODE');
      // The first group waits on the lock; the second queues behind it, with no pool timeout to end its wait.
      const stuck = lookups.recordAccess({ ...entry('stuck-0', nhs), unscheduled: true }, [{ laCode: la, body: { nhsNumber: nhs } as never }], 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      const queued = await lookups.recordAccess({ ...entry('queued-0', nhs, clinician('dr-queued')), unscheduled: true }, [], 0).then(() => 'answered', (error: unknown) => error);
      expect(queued).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(queued)).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(2_000);
      await blocker.query('ROLLBACK');
      await expect(stuck).resolves.toBeDefined();
    } finally {
      blocker.release();
    }
    // Nothing of the refused lookup was written; the next one goes as usual.
    expect(await rowsOf('audit_events', 'queued-')).toHaveLength(0);
    await lookups.recordAccess({ ...entry('after-0', nhs, clinician('dr-after')), unscheduled: true }, [], 0);
    expect(await rowsOf('audit_events', 'after-')).toHaveLength(1);
  });
});
