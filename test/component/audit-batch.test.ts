import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditBatcher } from '../../adapters/postgres/audit-batch.ts';
import { verifyAuditChains } from '../../adapters/postgres/audit-chain.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import type { AuditEntry } from '../../src/ports.ts';
import { createTestDatabase } from '../support/service.ts';
import { retentionOf } from '../support/audit-trails.ts';
import { syntheticNhsNumber } from '../support/synthetic.ts';

let pool: pg.Pool;
beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 6 });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
});

const entry = (requestId: string, nhsNumber: string | null = syntheticNhsNumber()): AuditEntry => ({
  at: new Date(), action: 'search:CareTeam', outcome: 'found', nhsNumber, unscheduled: false, requestId,
  identity: { sub: 'dr-batch', name: 'Dr Batch', role: 'clinician', org: 'RXX01', orgName: 'Example Hospital', setting: 'emergency-department', activities: ['B0170'] },
});
const rowsOf = async (table: string, prefix: string) =>
  (await pool.query<{ request_id: string; seq: string; lane: number }>(`SELECT request_id, lane, seq FROM ${table} WHERE request_id LIKE $1 ORDER BY request_id`, [`${prefix}%`])).rows;

describe('group commit of audit rows', () => {
  it('commits every row before its caller hears back, several to one transaction, and the chain stays intact', async () => {
    const batcher = createAuditBatcher(pool, { maxBatch: 256, maxInFlight: 1 });
    const ids = Array.from({ length: 200 }, (_, i) => `batch-${String(i).padStart(3, '0')}`);
    // Each caller checks its own row is there the moment its promise settles.
    const seen = await Promise.all(ids.map(async (id) => {
      await batcher.record('audit', entry(id));
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
    const batcher = createAuditBatcher(pool, { maxBatch: 256, maxInFlight: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.record('unmatched', entry(`unmatched-${i}`))));
    expect(await rowsOf('unmatched_search_events', 'unmatched-')).toHaveLength(20);
    expect(await rowsOf('audit_events', 'unmatched-')).toHaveLength(0);
  });

  it('fails only the row the database refuses, not the others of its batch', async () => {
    const batcher = createAuditBatcher(pool, { maxBatch: 256, maxInFlight: 1 });
    // Occupy the writer so that the next ones form one batch.
    const first = batcher.record('audit', entry('refuse-000'));
    const rest = ['refuse-001', 'refuse-002', 'refuse-003'].map((id) => batcher.record('audit', entry(id)));
    // An NHS number column is char(10): this one cannot be stored.
    const bad = batcher.record('audit', entry('refuse-bad', '99900000181'));
    const outcomes = await Promise.allSettled([first, ...rest, bad]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((await rowsOf('audit_events', 'refuse-')).map((r) => r.request_id)).toEqual(['refuse-000', 'refuse-001', 'refuse-002', 'refuse-003']);
  });

  it('fails every waiting row, and keeps none half-written, when the database cannot be reached', async () => {
    const gone = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    try {
      const batcher = createAuditBatcher(gone, { maxBatch: 256, maxInFlight: 1 });
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => batcher.record('audit', entry(`gone-${i}`))));
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    } finally {
      await gone.end();
    }
  });
});
