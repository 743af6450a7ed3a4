import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream } from '../support/stream-client.ts';
import { runToExit } from '../support/process.ts';
import { AUDIT_CHAIN, headDigest, UNMATCHED_SEARCH_CHAIN, verifyAuditChains, type AuditChain, type Checkpoint } from '../../adapters/postgres/audit-chain.ts';
import { purgeChainBefore } from '../../adapters/postgres/chain-purge.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { createTestDatabase } from '../support/service.ts';
import { ageTrails, checkpointOf, retentionOf } from '../support/audit-trails.ts';
import { HOUR } from '../support/clock.ts';

const DAY = 24 * HOUR;
const VERIFY = fileURLToPath(new URL('../../src/cli/audit-verify.ts', import.meta.url));
const PACKAGE = new URL('../../package.json', import.meta.url);

/** `npm run audit:verify` against one database, as an operator would run it. */
const verify = (databaseUrl: string, args: string[] = []) => runToExit([VERIFY, ...args], { DATABASE_URL: databaseUrl });

async function withDb<T>(url: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

const databaseName = (url: string) => new URL(url).pathname.slice(1);

const copies: string[] = [];
afterAll(async () => {
  await withDb(inject('adminDatabaseUrl'), async (db) => {
    for (const name of copies) await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
});

/** A fresh copy of a database that nobody is connected to, so each tampering starts from the same trail. */
async function copyOf(templateUrl: string): Promise<string> {
  const admin = inject('adminDatabaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await withDb(admin, (db) => db.query(`CREATE DATABASE ${name} TEMPLATE ${databaseName(templateUrl)}`));
  copies.push(name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Changes rows the way the tables' owner could: the append-only, chaining and anchor-guarding triggers switched off. */
async function tamper(url: string, work: (db: pg.Client) => Promise<unknown>, chain: AuditChain = AUDIT_CHAIN): Promise<void> {
  await withDb(url, async (db) => {
    await db.query('BEGIN');
    for (const table of [chain.rows, chain.anchors]) await db.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    await work(db);
    for (const table of [chain.rows, chain.anchors]) await db.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    await db.query('COMMIT');
  });
}

const laneRows = async (db: pg.Client, lane: number, chain: AuditChain = AUDIT_CHAIN) =>
  (await db.query<{ seq: string; id: string }>(`SELECT e.seq::text, e.id::text FROM ${chain.rows} e WHERE e.lane = $1 ORDER BY e.seq`, [lane])).rows;

const auditRows = async (url: string, action: string) =>
  withDb(url, async (db) => (await db.query('SELECT * FROM audit_events WHERE action = $1 ORDER BY id', [action])).rows);

describe('audit trail hash chain: a real workload verifies, and every kind of tampering is found', () => {
  let service: TestService;
  let template: string;
  let workload: { org: string; records: Record<string, unknown>[]; uploadId: string };

  // Uploads (new, replayed, refused twice), unscheduled, silent and empty lookups, acks over HTTP and WebSocket.
  async function runWorkload(): Promise<typeof workload> {
    const org = syntheticLaCode();
    const la = await laToken(service, org);
    const records = [childRecord(), childRecord(), childRecord()];
    const upload = await service.fetch('/la/v1/uploads', {
      method: 'POST', token: la, headers: { 'content-type': 'application/json', 'x-request-id': 'audit-upload-1' },
      body: JSON.stringify({ sequenceNumber: 5, records: [...records, childRecord({ nhsNumber: badChecksumNhsNumber() })] }),
    });
    expect(upload.status).toBe(201);
    expect((await uploadJson(service, la, 5, records)).status).toBe(200);
    expect((await uploadJson(service, la, 4, records)).status).toBe(409);
    const unreadable = await service.fetch('/la/v1/uploads', { method: 'POST', token: la, headers: { 'content-type': 'application/json' }, body: '{"sequenceNumber":6,"records":[{' });
    expect(unreadable.status).toBe(400);

    const dr = await clinicianToken(service, { sub: 'chain-dr', activities: ['B0107', 'B0170'] });
    for (const r of records) expect((await searchFor(service, dr, 'CareTeam', r.nhsNumber as string)).total).toBe(1);
    expect((await searchFor(service, dr, 'Flag', records[0]?.nhsNumber as string, { IsUnscheduledAccessEvent: 'false' })).total).toBe(1);
    // Children with no plan: their searches go to the unmatched-search chain.
    for (let i = 0; i < 4; i++) expect((await searchFor(service, dr, 'CareTeam', syntheticNhsNumber())).total).toBe(0);

    const httpAck = await service.fetch('/la/v1/notifications/ack', {
      method: 'POST', token: la, headers: { 'content-type': 'application/json', 'x-request-id': 'audit-ack-1' }, body: JSON.stringify({ upTo: 1 }),
    });
    expect(await httpAck.json()).toEqual({ acknowledged: [1] });
    const stream = await openStream(service, { token: await laToken(service, org, 'social-worker'), after: 1 });
    stream.ws.send(JSON.stringify({ type: 'ack', eventNumber: 2 }));
    await stream.waitFor((f) => f.some((x) => x.type === 'acknowledged'));
    stream.ws.close();
    return { org, records, uploadId: (await upload.json()).uploadId };
  }

  beforeAll(async () => {
    service = await startTestService();
    template = service.databaseUrl;
    workload = await runWorkload();
    // Stopped, so that nobody is connected to the database the tampering cases copy.
    await service.stop();
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('audits uploads, lookups and acknowledgements (HTTP and WebSocket) in the chain; audit:verify passes', async () => {
    expect(JSON.parse(await readFile(PACKAGE, 'utf8')).scripts['audit:verify']).toBe('node src/cli/audit-verify.ts');
    const uploads = await auditRows(template, 'upload');
    expect(uploads.map((r) => [r.outcome, r.detail.result, r.detail.code ?? null])).toEqual([
      ['ok', 'CPF03', null], ['ok', 'CPF03', null], ['invalid', null, 'RESOURCE_VERSION_MISMATCH'], ['invalid', 'CPF01', 'VALIDATION_ERROR'],
    ]);
    expect(uploads[0]).toMatchObject({ request_id: 'audit-upload-1', user_id: 'la-system-user', organisation_code: workload.org, nhs_number: null });
    expect(uploads[0].detail).toEqual({ sequenceNumber: 5, result: 'CPF03', uploadId: workload.uploadId, processed: 4, loaded: 3, rejected: 1 });
    expect(uploads[1].detail).toMatchObject({ replayed: true, uploadId: workload.uploadId });
    // Counts and codes only: nothing about the children.
    const personal = workload.records.flatMap((r) => [r.nhsNumber, r.familyName, r.birthDate, r.postcode]) as string[];
    for (const row of uploads) for (const value of personal) expect(JSON.stringify(row.detail)).not.toContain(value);

    const acks = await auditRows(template, 'acknowledge');
    expect(acks.map((r) => [r.user_role, r.detail])).toEqual([['la-system', { eventNumbers: [1] }], ['social-worker', { eventNumbers: [2] }]]);
    expect(acks[0].request_id).toBe('audit-ack-1');
    expect(acks[1].request_id).not.toBe('');

    const { code, stdout } = await verify(template);
    expect(code).toBe(0);
    const count = (table: string) => withDb(template, async (db) => Number((await db.query(`SELECT count(*) FROM ${table}`)).rows[0].count));
    expect(await count('audit_events')).toBe(4 + 4 + 2);
    expect(await count('unmatched_search_events')).toBe(4);
    // The head hash digests every lane's anchor and head.
    const heads = (chain: AuditChain) => withDb(template, async (db) =>
      (await db.query(
        `SELECT h.lane, h.seq::int AS seq, encode(h.hash, 'hex') AS hash, json_build_object('seq', a.seq::int, 'hash', encode(a.hash, 'hex')) AS anchor
         FROM ${chain.heads} h JOIN ${chain.anchors} a USING (lane) ORDER BY lane`,
      )).rows);
    expect(stdout).toBe(
      `audit chain intact: 10 rows checked in 64 lanes; head seq 10, head hash ${headDigest(await heads(AUDIT_CHAIN))}; 0 purge records checked\n` +
        `unmatched-search chain intact: 4 rows checked in 64 lanes; head seq 4, head hash ${headDigest(await heads(UNMATCHED_SEARCH_CHAIN))}; 0 purge records checked\n`,
    );
  });

  // Each case tampers with its own copy of the trail above, in the lane of the chain holding the most rows.
  async function caseOn(work: (db: pg.Client, lane: number, rows: { seq: string; id: string }[]) => Promise<unknown>, chain: AuditChain = AUDIT_CHAIN) {
    const url = await copyOf(template);
    const lane = await withDb(url, async (db) => (await db.query(`SELECT lane FROM ${chain.rows} GROUP BY lane ORDER BY count(*) DESC, lane LIMIT 1`)).rows[0].lane as number);
    const rows = await withDb(url, (db) => laneRows(db, lane, chain));
    expect(rows.length).toBeGreaterThanOrEqual(chain === AUDIT_CHAIN ? 4 : 3);
    await tamper(url, (db) => work(db, lane, rows), chain);
    const result = await verify(url);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(/999\d{7}/);
    return { url, lane, rows, stdout: result.stdout };
  }
  const at = (kind: string, lane: number, seq: string | number, id: string, chain = 'audit') => `${chain} chain BROKEN (${kind}) at lane ${lane}, seq ${seq}, id ${id}:`;

  it('finds an edited field: the row is refused an UPDATE, and an UPDATE forced past that breaks its hash', async () => {
    const url = await copyOf(template);
    await expect(withDb(url, (db) => db.query(`UPDATE audit_events SET outcome = 'not-found'`))).rejects.toThrow(/append-only/);
    const { lane, rows, stdout } = await caseOn((db, lane, rows) => db.query(`UPDATE audit_events SET user_id = 'someone-else' WHERE id = $1`, [rows[1]?.id]));
    expect(stdout).toContain(at('hash-mismatch', lane, 2, rows[1]?.id as string));
  });

  it('finds a deleted row in the middle of a lane', async () => {
    const { lane, rows, stdout } = await caseOn((db, _lane, rows) => db.query('DELETE FROM audit_events WHERE id = $1', [rows[1]?.id]));
    expect(stdout).toContain(at('gap', lane, 2, rows[2]?.id as string));
  });

  it('finds a forged row slipped in with a correct hash of its own, seqs renumbered and the head moved on', async () => {
    let forged = '';
    const { lane, stdout } = await caseOn(async (db, lane, rows) => {
      await db.query('UPDATE audit_events SET seq = -(seq + 1) WHERE lane = $1 AND seq >= 2', [lane]);
      await db.query('UPDATE audit_events SET seq = -seq WHERE lane = $1 AND seq < 0', [lane]);
      const { rows: inserted } = await db.query(
        `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id, lane, seq, prev_hash, hash)
         SELECT recorded_at, 'search:CareTeam', 'not-found', 'chain-dr', 'clinician', 'RXX01', 'forged', lane, 2, hash, '\\x00'
         FROM audit_events WHERE id = $1 RETURNING id::text`,
        [rows[0]?.id],
      );
      forged = inserted[0].id;
      await db.query('UPDATE audit_events e SET hash = sha256(e.prev_hash || audit_chain_canonical(e)) WHERE id = $1', [forged]);
      await db.query('UPDATE audit_chain_heads SET seq = seq + 1 WHERE lane = $1', [lane]);
    });
    expect(stdout).toContain(at('inserted', lane, 2, forged));
  });

  it('finds two rows swapped in order', async () => {
    const { lane, rows, stdout } = await caseOn(async (db, lane) => {
      await db.query('UPDATE audit_events SET seq = -1 WHERE lane = $1 AND seq = 2', [lane]);
      await db.query('UPDATE audit_events SET seq = 2 WHERE lane = $1 AND seq = 3', [lane]);
      await db.query('UPDATE audit_events SET seq = 3 WHERE lane = $1 AND seq = -1', [lane]);
    });
    expect(stdout).toContain(at('reordered', lane, 2, rows[2]?.id as string));
  });

  it('finds the newest row deleted, by the lane head it no longer reaches', async () => {
    const { lane, rows, stdout } = await caseOn((db, _lane, rows) => db.query('DELETE FROM audit_events WHERE id = $1', [rows.at(-1)?.id]));
    expect(stdout).toContain(at('head-mismatch', lane, rows.length, '-'));
  });

  it('finds an edited and a deleted search in the unmatched-search chain, which refuses UPDATEs too', async () => {
    const url = await copyOf(template);
    await expect(withDb(url, (db) => db.query(`UPDATE unmatched_search_events SET outcome = 'found'`))).rejects.toThrow(/append-only/);
    const edited = await caseOn((db, _lane, rows) => db.query(`UPDATE unmatched_search_events SET nhs_number = '9990000018' WHERE id = $1`, [rows[0]?.id]), UNMATCHED_SEARCH_CHAIN);
    expect(edited.stdout).toMatch(/^audit chain intact: 10 rows checked/);
    expect(edited.stdout).toContain(at('hash-mismatch', edited.lane, 1, edited.rows[0]?.id as string, 'unmatched-search'));
    const deleted = await caseOn((db, _lane, rows) => db.query('DELETE FROM unmatched_search_events WHERE id = $1', [rows[1]?.id]), UNMATCHED_SEARCH_CHAIN);
    expect(deleted.stdout).toContain(at('gap', deleted.lane, 2, deleted.rows[2]?.id as string, 'unmatched-search'));
  });

  const CANONICAL = { audit: 'audit_chain_canonical', 'unmatched-search': 'unmatched_search_canonical' } as const;

  it.each([AUDIT_CHAIN, UNMATCHED_SEARCH_CHAIN])('finds a lane of the $name chain rewritten with fresh hashes only against a checkpoint kept from an earlier run', async (chain) => {
    const url = await copyOf(template);
    const dir = await mkdtemp(path.join(tmpdir(), 'cpis-audit-'));
    const checkpoint = path.join(dir, 'checkpoint.json');
    const saved = await verify(url, ['--json']);
    expect(saved.code).toBe(0);
    await writeFile(checkpoint, saved.stdout);
    const report = JSON.parse(saved.stdout);
    const lane = report.chains[chain.name].heads.find((h: { seq: number }) => h.seq >= 2).lane as number;
    await tamper(url, async (db) => {
      const rows = await laneRows(db, lane, chain);
      await db.query(`UPDATE ${chain.rows} SET user_id = 'someone-else' WHERE id = $1`, [rows[0]?.id]);
      // Re-link the whole lane from the edit on, as someone who knows the scheme would.
      for (const row of rows) {
        await db.query(
          `UPDATE ${chain.rows} e SET prev_hash = COALESCE((SELECT p.hash FROM ${chain.rows} p WHERE p.lane = e.lane AND p.seq = e.seq - 1), decode(repeat('00', 32), 'hex'))
           WHERE id = $1`,
          [row.id],
        );
        await db.query(`UPDATE ${chain.rows} e SET hash = sha256(e.prev_hash || ${CANONICAL[chain.name]}(e)) WHERE id = $1`, [row.id]);
      }
      await db.query(`UPDATE ${chain.heads} h SET hash = e.hash FROM ${chain.rows} e WHERE e.lane = h.lane AND e.seq = h.seq AND h.lane = $1`, [lane]);
    }, chain);
    expect((await verify(url)).code).toBe(0);
    const checked = await verify(url, ['--checkpoint', checkpoint]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(new RegExp(`^${chain.name} chain BROKEN \\(checkpoint-mismatch\\) at lane ${lane}, `, 'm'));
    if (chain !== AUDIT_CHAIN) return;
    // A checkpoint written before there were two chains (its heads at the top) still holds the audit chain.
    const older = path.join(dir, 'single-chain.json');
    await writeFile(older, JSON.stringify({ ok: true, heads: report.chains.audit.heads.map(({ lane, seq, hash }: { lane: number; seq: number; hash: string }) => ({ lane, seq, hash })) }));
    const old = await verify(url, ['--checkpoint', older]);
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(new RegExp(`^audit chain BROKEN \\(checkpoint-mismatch\\) at lane ${lane}, `, 'm'));
    expect(old.stdout).toMatch(/^note: the audit checkpoint records no anchors \(written before migration 0013\)/m);
  });
});

describe('audit chain under concurrency, on any code path', () => {
  it('verifies after 80 simultaneous lookups over two instances, spread over several lanes', async () => {
    const env = { DB_POOL_SIZE: '20' };
    const first = await startTestService({ env });
    const second = await startTestService({ env, databaseUrl: first.databaseUrl, dataDir: first.dataDir });
    try {
      const la = await laToken(first, syntheticLaCode());
      const records = Array.from({ length: 40 }, () => childRecord());
      expect((await uploadJson(first, la, 1, records)).status).toBe(201);
      const lookups = records.flatMap((r, i) =>
        [first, second].map(async (target, k) => {
          const dr = await clinicianToken(target, { sub: `burst-${i}-${k}`, activities: ['B0107', 'B0170'] });
          return searchFor(target, dr, 'CareTeam', r.nhsNumber as string, { IsUnscheduledAccessEvent: String(k === 0) });
        }),
      );
      for (const bundle of await Promise.all(lookups)) expect(bundle.total).toBe(1);
      const { code, stdout } = await verify(first.databaseUrl);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^audit chain intact: 81 rows checked/);
      const lanes = await withDb(first.databaseUrl, async (db) => (await db.query('SELECT count(DISTINCT lane)::int AS n FROM audit_events')).rows[0].n);
      expect(lanes).toBeGreaterThan(1);
    } finally {
      await second.stop();
      await first.stop();
    }
  });

  it('gives each open transaction a lane of its own, waits only when every lane is held, and chains plain INSERTs whatever they claim', async () => {
    const service = await startTestService();
    await service.stop();
    const insert = `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id, lane, seq, prev_hash, hash)
      VALUES (now(), 'test:raw', 'ok', 'raw', 'system', 'CPIS', 'raw', 63, 1, '\\x00', '\\x00') RETURNING lane, seq::int AS seq`;
    const clients = await Promise.all(Array.from({ length: 9 }, async () => {
      const db = new pg.Client({ connectionString: service.databaseUrl });
      await db.connect();
      // Settings that must not change a row's canonical form.
      await db.query(`SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'German, DMY'`);
      await db.query('BEGIN');
      return db;
    }));
    const [blocker, ...writers] = clients as [pg.Client, ...pg.Client[]];
    try {
      const rows: { lane: number; seq: number }[] = [];
      for (const db of writers) rows.push((await db.query(insert)).rows[0], (await db.query(insert)).rows[0]);
      const lanes = writers.map((_, i) => rows[2 * i]?.lane);
      expect(new Set(lanes).size).toBe(8);
      // A transaction's second row stays in its lane.
      expect(rows.map((r) => r.seq)).toEqual(writers.flatMap(() => [1, 2]));
      expect(writers.map((_, i) => rows[2 * i + 1]?.lane)).toEqual(lanes);
      for (const db of writers) await db.query('COMMIT');

      await blocker.query('SELECT lane FROM audit_chain_heads FOR UPDATE');
      let released = false;
      const waiting = (writers[0] as pg.Client).query(insert).then((r) => ({ row: r.rows[0], released }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      released = true;
      await blocker.query('COMMIT');
      expect((await waiting).released).toBe(true);
    } finally {
      await Promise.all(clients.map((db) => db.end()));
    }
    const { code, stdout } = await verify(service.databaseUrl);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^audit chain intact: 17 rows checked/);
  });

  it('chains many rows per statement, statements after one another and a statement rolled back, in both chains', async () => {
    const service = await startTestService();
    await service.stop();
    const nhs = syntheticNhsNumber();
    const rows = (table: string, n: number, action = 'test:many') => `INSERT INTO ${table}
      (recorded_at, action, outcome, user_id, user_role, organisation_code, nhs_number, request_id, lane, seq, prev_hash, hash)
      SELECT now(), '${action}', 'ok', 'raw', 'system', 'CPIS', '${nhs}', 'raw-' || g, 0, 1, '\\x00', '\\x00' FROM generate_series(1, ${n}) g
      RETURNING lane, seq::int AS seq`;
    const db = new pg.Client({ connectionString: service.databaseUrl });
    await db.connect();
    try {
      // Settings that must not change how a head is carried from one row to the next.
      await db.query(`SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY'`);
      for (const table of ['audit_events', 'unmatched_search_events']) {
        await db.query('BEGIN');
        const first = (await db.query(rows(table, 5))).rows;
        const lane = first[0].lane;
        await db.query('SAVEPOINT s');
        // The fifth row breaks a constraint: the statement's rows and the head they carried go with it.
        await expect(db.query(rows(table, 5).replace("'raw-' || g", "CASE WHEN g = 5 THEN NULL ELSE 'x' END"))).rejects.toThrow();
        await db.query('ROLLBACK TO SAVEPOINT s');
        const single = (await db.query(rows(table, 1))).rows;
        const next = (await db.query(rows(table, 3))).rows;
        await db.query('COMMIT');
        const all = [...first, ...single, ...next];
        expect(all.map((r) => r.lane)).toEqual(all.map(() => lane));
        const start = first[0].seq;
        expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => start + i));
        // One head write per statement, and it names the last row.
        const heads = table === 'audit_events' ? 'audit_chain_heads' : 'unmatched_search_chain_heads';
        const head = (await db.query(`SELECT h.seq::int AS seq, h.hash = e.hash AS same FROM ${heads} h JOIN ${table} e ON e.lane = h.lane AND e.seq = h.seq WHERE h.lane = $1`, [lane])).rows[0];
        expect(head).toEqual({ seq: start + all.length - 1, same: true });
      }
    } finally {
      await db.end();
    }
    const { code, stdout } = await verify(service.databaseUrl);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^audit chain intact: 9 rows checked/);
  });
});

describe('purging audit rows for retention, and purging them unseen', () => {
  // A trail of both chains with rows 150 and 50 days old and new ones, a few lanes each; no service, so that copies can be made.
  let template: string;
  const RETENTION = { AUDIT_RETENTION_DAYS: '30', UNMATCHED_SEARCH_RETENTION_DAYS: '30' };
  const retentionDays = retentionOf(RETENTION);
  const check = (url: string, args: string[] = [], env: Record<string, string> = RETENTION) => runToExit([VERIFY, ...args], { DATABASE_URL: url, ...env });
  const CHAINS = [AUDIT_CHAIN, UNMATCHED_SEARCH_CHAIN];
  const LANE_SETTING = { audit: 'cpis.audit_lane', 'unmatched-search': 'cpis.unmatched_search_lane' } as const;

  /** `perLane` rows in each of `lanes` of the chain, through the trigger, one transaction per lane. */
  async function insertRows(pool: pg.Pool, chain: AuditChain, lanes: number[], perLane: number, recordedAt = '2001-01-01T00:00:00Z') {
    for (const lane of lanes) {
      const db = await pool.connect();
      try {
        await db.query('BEGIN');
        await db.query(`SELECT set_config($1, $2, true)`, [LANE_SETTING[chain.name], String(lane)]);
        for (let i = 0; i < perLane; i++) {
          await db.query(
            `INSERT INTO ${chain.rows} (recorded_at, action, outcome, user_id, user_role, organisation_code, nhs_number, request_id)
             VALUES ($1, 'test:purge', 'ok', 'purge-test', 'system', 'CPIS', $2, 'purge-test')`,
            [recordedAt, chain === AUDIT_CHAIN ? null : syntheticNhsNumber()],
          );
        }
        await db.query('COMMIT');
      } finally {
        db.release();
      }
    }
  }

  async function withPool<T>(url: string, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    try {
      return await work(pool);
    } finally {
      await pool.end();
    }
  }

  const purge = (pool: pg.Pool, chain: AuditChain, daysAgo: number, retention = 30) =>
    withClient(pool, async (db) => {
      await db.query('BEGIN');
      // Its purge record in lane 63, out of the way of the lanes these cases count on.
      await db.query(`SELECT set_config('cpis.audit_lane', '63', true)`);
      const cutoff = new Date(Date.now() - daysAgo * DAY).toISOString();
      const removed = await purgeChainBefore(db, chain, cutoff, { retentionDays: retention, requestId: 'purge-test' });
      await db.query('COMMIT');
      return removed;
    });

  async function withClient<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const db = await pool.connect();
    try {
      return await work(db);
    } finally {
      db.release();
    }
  }

  /** An earlier run's --json report, kept in a file as an operator keeps it. */
  async function keepCheckpoint(url: string): Promise<string> {
    const saved = await check(url, ['--json']);
    expect(saved.code).toBe(0);
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'cpis-audit-')), 'checkpoint.json');
    await writeFile(file, saved.stdout);
    return file;
  }

  beforeAll(async () => {
    template = await createTestDatabase();
    await withPool(template, async (pool) => {
      await migrate(pool);
      for (const [days, lanes] of [[100, [0, 1, 2, 3]], [50, [0, 1, 2]], [0, [0, 1]]] as const) {
        for (const chain of CHAINS) await insertRows(pool, chain, [...lanes], 3);
        if (days > 0) await ageTrails(pool, days);
      }
    });
  });

  it('deletes a prefix of each lane through a purge record, and verification starts from the moved anchor; editing the anchor breaks it', async () => {
    const url = await copyOf(template);
    const report = await withPool(url, async (pool) => {
      expect(await purge(pool, AUDIT_CHAIN, 100)).toBe(12);
      // Nothing is left before the cutoff: a second purge finds nothing to do, and records nothing.
      expect(await purge(pool, AUDIT_CHAIN, 100)).toBe(0);
      const anchors = (await pool.query('SELECT lane, seq::int AS seq FROM audit_chain_anchors WHERE seq > 0 ORDER BY lane')).rows;
      expect(anchors).toEqual([0, 1, 2, 3].map((lane) => ({ lane, seq: 3 })));
      const records = (await pool.query(`SELECT user_id, detail FROM audit_events WHERE action = 'retention:purge-audit'`)).rows;
      expect(records).toHaveLength(1);
      expect(records[0].user_id).toBe('cpis-retention');
      expect(records[0].detail).toMatchObject({ chain: 'audit', retentionDays: 30, rowsRemoved: 12 });
      expect(records[0].detail.moves).toHaveLength(4);
      expect(records[0].detail.moves[0]).toEqual({
        lane: 0, rows: 3, from: { seq: 0, hash: '0'.repeat(64) }, to: { seq: 3, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      });
      return verifyAuditChains(pool, { retentionDays });
    });
    // Left: 9 rows of 50 days, 6 new ones and the purge record; 28 chained in all.
    expect(report).toMatchObject({ ok: true, chains: { audit: { ok: true, rowsChecked: 9 + 6 + 1, headSeq: 28, purgeRecords: 1 } } });
    expect((await check(url)).stdout).toMatch(/^audit chain intact: 16 rows checked in 64 lanes; head seq 28, head hash [0-9a-f]{64}; 1 purge record checked$/m);

    await expect(withDb(url, (db) => db.query('UPDATE audit_chain_anchors SET hash = sha256(hash) WHERE lane = 0'))).rejects.toThrow(/anchors move only forward/);
    await tamper(url, (db) => db.query('UPDATE audit_chain_anchors SET hash = sha256(hash) WHERE lane = 0'));
    const broken = await check(url);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit chain BROKEN \(anchor-mismatch\) at lane 0, seq 4, /m);
  });

  it('refuses to move an anchor, delete rows ahead of it or truncate a trail other than through the retention purge', async () => {
    const url = await copyOf(template);
    await withDb(url, async (db) => {
      for (const chain of CHAINS) {
        await expect(db.query(`UPDATE ${chain.anchors} a SET seq = h.seq, hash = h.hash FROM ${chain.heads} h WHERE h.lane = a.lane`)).rejects.toThrow(/anchors move only forward, through the retention purge/);
        await expect(db.query(`DELETE FROM ${chain.anchors} WHERE lane = 0`)).rejects.toThrow(/anchors move only forward/);
        await expect(db.query(`TRUNCATE ${chain.anchors}`)).rejects.toThrow(/anchors move only forward/);
        await expect(db.query(`DELETE FROM ${chain.rows} WHERE lane = 0 AND seq <= 3`)).rejects.toThrow(/leave only through the retention purge/);
        await expect(db.query(`TRUNCATE ${chain.rows}`)).rejects.toThrow(/rows leave only through the retention purge/);
      }
      // The purge's own function, called outside a purge record's insert, may not move anchors either.
      await expect(db.query(`SELECT audit_chain_purge('retention:purge-audit', '{"chain":"audit","before":"2100-01-01T00:00:00Z","retentionDays":30}', now())`))
        .rejects.toThrow(/anchors move only forward/);
      // A purge record has to be one: it names its chain and a retention period of a day or more.
      for (const detail of [{ chain: 'unmatched-search', before: '2100-01-01T00:00:00Z', retentionDays: 30 }, { chain: 'audit', before: '2100-01-01T00:00:00Z', retentionDays: 0 }, { chain: 'audit' }]) {
        await expect(db.query(
          `INSERT INTO audit_events (action, outcome, user_id, user_role, organisation_code, request_id, detail) VALUES ('retention:purge-audit', 'ok', 'x', 'system', 'CPIS', 'x', $1)`,
          [JSON.stringify(detail)],
        )).rejects.toThrow(/chain audit|retentionDays/);
      }
      expect(Number((await db.query('SELECT count(*) AS n FROM audit_events')).rows[0].n)).toBe(27);
    });
    expect((await check(url)).code).toBe(0);
  });

  it('finds every lane\'s anchor moved to its head and the trail truncated, against an earlier checkpoint and without one, in either chain', async () => {
    for (const chain of CHAINS) {
      const url = await copyOf(template);
      const checkpoint = await keepCheckpoint(url);
      // A genuine purge first, so that the trail holds purge records to hide behind.
      await withPool(url, (pool) => purge(pool, chain, 100));
      expect((await check(url, ['--checkpoint', checkpoint])).code).toBe(0);
      await tamper(url, async (db) => {
        await db.query(`UPDATE ${chain.anchors} a SET seq = h.seq, hash = h.hash FROM ${chain.heads} h WHERE h.lane = a.lane`);
        await db.query(`TRUNCATE ${chain.rows}`);
      }, chain);
      const against = await check(url, ['--checkpoint', checkpoint]);
      expect(against.code).toBe(1);
      // Truncating audit_events took the audit chain's purge record with it; the unmatched-search chain's is still there.
      const reached = chain === AUDIT_CHAIN ? 0 : 3;
      expect(against.stdout).toMatch(new RegExp(
        `^${chain.name} chain BROKEN \\(purge-unrecorded\\) at lane 0, seq ${reached + 1}, id -: anchor moved from seq ${reached} \\((the checkpoint's anchor|where a purge left it)\\) to seq 9 with no purge record of the move: rows ${reached + 1}-9 removed outside the retention purge`,
        'm',
      ));
      expect(against.stdout).not.toMatch(/999\d{7}/);
      if (chain === AUDIT_CHAIN) {
        // Truncating audit_events took the purge records with it: an anchor moved with none at all left is caught without a checkpoint.
        expect((await check(url)).stdout).toMatch(/^audit chain BROKEN \(purge-unrecorded\) at lane 0, seq 9, id -: anchor moved to seq 9, but the audit trail holds no purge record at all/m);
      } else {
        // The purge record in audit_events left lane 0's anchor at seq 3: moved on by hand since.
        expect((await check(url)).stdout).toMatch(/^unmatched-search chain BROKEN \(purge-unrecorded\) at lane 0, seq 9, id \d+: anchor is at seq 9, but the newest purge record for the lane \(audit_events id \d+\) left it at seq 3/m);
      }
    }
  });

  it('finds a lane\'s oldest rows deleted and its anchor moved past them, against an earlier checkpoint and by the lane\'s purge records', async () => {
    for (const chain of CHAINS) {
      const url = await copyOf(template);
      const checkpoint = await keepCheckpoint(url);
      const hideOldest = (lane: number, upTo: number) => tamper(url, async (db) => {
        await db.query(`UPDATE ${chain.anchors} a SET seq = e.seq, hash = e.hash FROM ${chain.rows} e WHERE e.lane = a.lane AND a.lane = $1 AND e.seq = $2`, [lane, upTo]);
        await db.query(`DELETE FROM ${chain.rows} WHERE lane = $1 AND seq <= $2`, [lane, upTo]);
      }, chain);
      await hideOldest(3, 2);
      const against = await check(url, ['--checkpoint', checkpoint]);
      expect(against.code).toBe(1);
      expect(against.stdout).toContain(`${chain.name} chain BROKEN (purge-unrecorded) at lane 3, seq 1, id -: anchor moved from seq 0 (the checkpoint's anchor) to seq 2 with no purge record of the move`);
      // With no purge record anywhere, even a plain run sees it.
      expect((await check(url)).stdout).toContain(`${chain.name} chain BROKEN (purge-unrecorded) at lane 3, seq 2, id -: anchor moved to seq 2, but the audit trail holds no purge record at all`);

      // After a genuine purge of lanes 0-3, the lane's own purge record no longer ends where its anchor is.
      const fresh = await copyOf(template);
      await withPool(fresh, (pool) => purge(pool, chain, 100));
      await tamper(fresh, async (db) => {
        await db.query(`UPDATE ${chain.anchors} a SET seq = e.seq, hash = e.hash FROM ${chain.rows} e WHERE e.lane = a.lane AND a.lane = 1 AND e.seq = 5`);
        await db.query(`DELETE FROM ${chain.rows} WHERE lane = 1 AND seq <= 5`);
      }, chain);
      expect((await check(fresh)).stdout).toMatch(new RegExp(`^${chain.name} chain BROKEN \\(purge-unrecorded\\) at lane 1, seq 5, id \\d+: anchor is at seq 5, but the newest purge record for the lane \\(audit_events id \\d+\\) left it at seq 3: moved outside the retention purge`, 'm'));
    }
  });

  it('verifies genuine purges, one and then two in succession, against checkpoints taken before them, in both chains', async () => {
    const url = await copyOf(template);
    const first = await keepCheckpoint(url);
    await withPool(url, async (pool) => {
      for (const chain of CHAINS) expect(await purge(pool, chain, 100)).toBe(12);
    });
    const afterOne = await check(url, ['--checkpoint', first]);
    expect(afterOne.stdout).toMatch(/^audit chain intact: .*; 1 purge record checked\nunmatched-search chain intact: .*; 1 purge record checked\n$/);
    expect(afterOne.code).toBe(0);
    const second = await keepCheckpoint(url);
    await withPool(url, async (pool) => {
      // The second takes the rows of 50 days, lanes 0-2: in lane 2 up to the second checkpoint's head (seq 6).
      for (const chain of CHAINS) expect(await purge(pool, chain, 40)).toBe(9);
      expect((await pool.query(`SELECT detail->'moves'->0->'from'->>'seq' AS seq FROM audit_events WHERE action = 'retention:purge-unmatched-searches' ORDER BY id`)).rows.map((r) => r.seq)).toEqual(['0', '3']);
    });
    for (const args of [[], ['--checkpoint', first], ['--checkpoint', second]]) {
      const result = await check(url, args);
      expect(result.stdout).toMatch(/^audit chain intact: .*\nunmatched-search chain intact: /);
      expect(result.code).toBe(0);
    }
    // Then the oldest remaining rows of lane 0 go by hand: the checkpoint finds the move that no purge record makes.
    await tamper(url, async (db) => {
      await db.query(`UPDATE audit_chain_anchors a SET seq = e.seq, hash = e.hash FROM audit_events e WHERE e.lane = a.lane AND a.lane = 0 AND e.seq = 7`);
      await db.query('DELETE FROM audit_events WHERE lane = 0 AND seq <= 7');
    });
    expect((await check(url, ['--checkpoint', first])).stdout).toContain("audit chain BROKEN (purge-unrecorded) at lane 0, seq 7, id -: anchor moved from seq 6 (where a purge left it) to seq 7 with no purge record of the move");
  });

  it('reports a purge record that removed rows younger than the retention period', async () => {
    const url = await copyOf(template);
    // Through the real purge, under a shorter period than the one configured.
    await withPool(url, (pool) => purge(pool, AUDIT_CHAIN, 20, 10));
    const short = await check(url);
    expect(short.code).toBe(1);
    expect(short.stdout).toMatch(/^audit chain BROKEN \(purge-too-early\) at lane 0, seq -, id \d+: purge record audit_events id \d+ purged under a retention period of 10 days, shorter than the 30 configured/m);
    // A purge that was in time for its own period, but not for the one now configured.
    const longer = await copyOf(template);
    await withPool(longer, (pool) => purge(pool, UNMATCHED_SEARCH_CHAIN, 40, 30));
    expect((await check(longer)).code).toBe(0);
    const stricter = await check(longer, [], { AUDIT_RETENTION_DAYS: '60', UNMATCHED_SEARCH_RETENTION_DAYS: '45' });
    expect(stricter.code).toBe(1);
    expect(stricter.stdout).toMatch(/^unmatched-search chain BROKEN \(purge-too-early\) at lane 0, seq -, id \d+: purge record audit_events id \d+ purged under a retention period of 30 days, shorter than the 45 configured/m);
    // One forged by the owner that names the period but cut too late.
    await tamper(longer, async (db) => {
      const { rows } = await db.query(`SELECT id FROM audit_events WHERE action = 'retention:purge-unmatched-searches'`);
      await db.query(
        `UPDATE audit_events SET detail = jsonb_set(detail, '{cutoff}', to_jsonb(to_char((recorded_at - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
         WHERE id = $1`,
        [rows[0].id],
      );
      // Re-hashed, with its lane's later rows and head, as someone who knows the scheme would.
      await db.query(`UPDATE audit_events e SET hash = sha256(e.prev_hash || audit_chain_canonical(e)) WHERE id = $1`, [rows[0].id]);
      await db.query(`UPDATE audit_chain_heads h SET hash = e.hash FROM audit_events e WHERE e.id = $1 AND h.lane = e.lane AND h.seq = e.seq`, [rows[0].id]);
    });
    const forged = await check(longer);
    expect(forged.stdout).toMatch(/^unmatched-search chain BROKEN \(purge-too-early\) at lane 0, seq -, id \d+: purge record audit_events id \d+ cut later than 30 days before it was recorded/m);
  });

  it('sets recorded_at from the database: a back-dated insert is recorded now, and a back-dated row forced past the trigger is reported', async () => {
    const url = await copyOf(template);
    const started = Date.now();
    const inserted = await withDb(url, async (db) => (await db.query(
      `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id)
       VALUES ('2001-01-01T00:00:00Z', 'test:back-dated', 'ok', 'x', 'system', 'CPIS', 'x') RETURNING lane, seq::int AS seq, recorded_at`,
    )).rows[0]);
    expect(inserted.recorded_at.getTime()).toBeGreaterThanOrEqual(started - 5_000);
    expect((await check(url)).code).toBe(0);
    // The owner appends a row of 2001 with a valid hash, and moves the head to it.
    await tamper(url, async (db) => {
      const { rows } = await db.query(
        `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id, lane, seq, prev_hash, hash)
         SELECT '2001-01-01T00:00:00Z', 'test:back-dated', 'ok', 'x', 'system', 'CPIS', 'x', h.lane, h.seq + 1, h.hash, '\\x00' FROM audit_chain_heads h WHERE h.lane = $1
         RETURNING id`,
        [inserted.lane],
      );
      await db.query('UPDATE audit_events e SET hash = sha256(e.prev_hash || audit_chain_canonical(e)) WHERE id = $1', [rows[0].id]);
      await db.query('UPDATE audit_chain_heads h SET seq = e.seq, hash = e.hash FROM audit_events e WHERE e.id = $1 AND h.lane = e.lane', [rows[0].id]);
    });
    const result = await check(url);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN \\(time-reversed\\) at lane ${inserted.lane}, seq ${inserted.seq + 1}, id \\d+: recorded earlier than the row before it in the lane`, 'm'));
  });

  it('holds for any run of inserts, purges and checkpoints: intact unless someone purged by hand, which every earlier checkpoint finds', async () => {
    type Step = { kind: 'insert'; chain: number; lane: number; rows: number } | { kind: 'purge'; chain: number; daysAgo: number } | { kind: 'checkpoint' } | { kind: 'hide'; chain: number; lane: number; rows: number };
    const chainIndex = fc.integer({ min: 0, max: 1 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), chain: chainIndex, lane: fc.integer({ min: 0, max: 4 }), rows: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('purge' as const), chain: chainIndex, daysAgo: fc.constantFrom(120, 75, 40) }),
      fc.constant({ kind: 'checkpoint' as const }),
    );
    const hide: fc.Arbitrary<Step> = fc.record({ kind: fc.constant('hide' as const), chain: chainIndex, lane: fc.integer({ min: 0, max: 4 }), rows: fc.integer({ min: 1, max: 4 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.option(fc.tuple(fc.nat(), hide), { nil: undefined }), async (steps, tampering) => {
        const url = await copyOf(template);
        const plan = [...steps];
        if (tampering) plan.splice(tampering[0] % (plan.length + 1), 0, tampering[1]);
        const checkpoints: { checkpoint: Checkpoint; beforeHiding: boolean }[] = [];
        let hidden = false;
        await withPool(url, async (pool) => {
          for (const s of plan) {
            if (s.kind === 'insert') await insertRows(pool, CHAINS[s.chain] as AuditChain, [s.lane], s.rows);
            if (s.kind === 'purge') await purge(pool, CHAINS[s.chain] as AuditChain, s.daysAgo);
            if (s.kind === 'checkpoint') {
              // Once rows are hidden the chain may already read as broken; a broken chain gives no checkpoint.
              const report = await verifyAuditChains(pool, { retentionDays });
              if (!hidden) expect(report.ok).toBe(true);
              checkpoints.push({ checkpoint: checkpointOf(report), beforeHiding: !hidden });
            }
            if (s.kind === 'hide') {
              // The lane's oldest rows deleted and its anchor moved past them, as its owner could.
              const chain = CHAINS[s.chain] as AuditChain;
              const { rows } = await pool.query(`SELECT e.seq::int AS seq FROM ${chain.rows} e JOIN ${chain.anchors} a USING (lane) WHERE e.lane = $1 ORDER BY e.seq OFFSET $2 - 1 LIMIT 1`, [s.lane, s.rows]);
              if (rows.length === 0) continue;
              hidden = true;
              await tamper(url, async (db) => {
                await db.query(`UPDATE ${chain.anchors} a SET seq = e.seq, hash = e.hash FROM ${chain.rows} e WHERE e.lane = a.lane AND a.lane = $1 AND e.seq = $2`, [s.lane, rows[0].seq]);
                await db.query(`DELETE FROM ${chain.rows} WHERE lane = $1 AND seq <= $2`, [s.lane, rows[0].seq]);
              }, chain);
            }
          }
          if (!hidden) expect(await verifyAuditChains(pool, { retentionDays })).toMatchObject({ ok: true });
          for (const { checkpoint, beforeHiding } of checkpoints) {
            const report = await verifyAuditChains(pool, { checkpoint, retentionDays });
            if (!hidden) expect(report).toMatchObject({ ok: true, notes: [] });
            else if (beforeHiding) expect(Object.values(report.chains).some((c) => !c.ok && c.break.kind === 'purge-unrecorded')).toBe(true);
          }
        });
      }),
      { numRuns: 16, seed: 20261202 },
    );
  });
});

describe('audit rows commit with the change they record', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** Makes every audit insert of one action fail, as a full disk or a lost connection would at that point. */
  const refuseAudit = (action: string) =>
    withDb(service.databaseUrl, (db) => db.query(`ALTER TABLE audit_events ADD CONSTRAINT refuse_${action} CHECK (action <> '${action}') NOT VALID`));
  const allowAudit = (action: string) => withDb(service.databaseUrl, (db) => db.query(`ALTER TABLE audit_events DROP CONSTRAINT refuse_${action}`));

  it('loads no batch whose audit row cannot be written, and leaves its sequence number unused', async () => {
    const la = await laToken(service, syntheticLaCode());
    const records = [childRecord()];
    await refuseAudit('upload');
    try {
      expect((await uploadJson(service, la, 1, records)).status).toBe(500);
    } finally {
      await allowAudit('upload');
    }
    expect((await (await service.fetch('/la/v1/plans', { token: la })).json()).plans).toEqual([]);
    expect((await uploadJson(service, la, 1, records)).status).toBe(201);
    expect((await (await service.fetch('/la/v1/plans', { token: la })).json()).plans).toHaveLength(1);
  });

  it('acknowledges nothing, over HTTP or the stream, whose audit row cannot be written', async () => {
    const org = syntheticLaCode();
    const la = await laToken(service, org);
    const record = childRecord();
    await uploadJson(service, la, 1, [record]);
    await searchFor(service, await clinicianToken(service, { sub: 'atomic-dr' }), 'CareTeam', record.nhsNumber as string);
    const stream = await openStream(service, { token: await laToken(service, org, 'social-worker'), after: 1 });
    await refuseAudit('acknowledge');
    try {
      const http = await service.fetch('/la/v1/notifications/ack', { method: 'POST', token: la, headers: { 'content-type': 'application/json' }, body: '{"upTo":1}' });
      expect(http.status).toBe(500);
      stream.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
      await stream.waitFor((f) => f.some((x) => x.type === 'error'));
    } finally {
      await allowAudit('acknowledge');
      stream.ws.close();
    }
    const { notifications } = await (await service.fetch('/la/v1/notifications', { token: la })).json();
    expect(notifications[0]).toMatchObject({ eventNumber: 1, acknowledgedAt: null, acknowledgedBy: null });
    expect(await auditRows(service.databaseUrl, 'acknowledge')).toEqual([]);
  });
});
