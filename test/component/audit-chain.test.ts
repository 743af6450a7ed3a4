import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream } from '../support/stream-client.ts';
import { runToExit } from '../support/process.ts';
import { AUDIT_CHAIN, headDigest, UNMATCHED_SEARCH_CHAIN, type AuditChain } from '../../adapters/postgres/audit-chain.ts';
import { purgeChainBefore } from '../../adapters/postgres/chain-purge.ts';

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

/** Changes rows the way someone with table access would: the append-only and chaining triggers switched off. */
async function tamper(url: string, work: (db: pg.Client) => Promise<unknown>, chain: AuditChain = AUDIT_CHAIN): Promise<void> {
  await withDb(url, async (db) => {
    await db.query('BEGIN');
    await db.query(`ALTER TABLE ${chain.rows} DISABLE TRIGGER USER`);
    await work(db);
    await db.query(`ALTER TABLE ${chain.rows} ENABLE TRIGGER USER`);
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
      ['ok', 'CPF03', null], ['ok', 'CPF03', null], ['invalid', null, 'DUPLICATE_REJECTED'], ['invalid', 'CPF01', 'INVALID_REQUEST'],
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
    const heads = (table: string) => withDb(template, async (db) =>
      (await db.query(`SELECT lane, seq::int AS seq, encode(hash, 'hex') AS hash FROM ${table} ORDER BY lane`)).rows);
    expect(stdout).toBe(
      `audit chain intact: 10 rows checked in 64 lanes; head seq 10, head hash ${headDigest(await heads('audit_chain_heads'))}\n` +
        `unmatched-search chain intact: 4 rows checked in 64 lanes; head seq 4, head hash ${headDigest(await heads('unmatched_search_chain_heads'))}\n`,
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
    await writeFile(older, JSON.stringify({ ok: true, heads: report.chains.audit.heads }));
    const old = await verify(url, ['--checkpoint', older]);
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(new RegExp(`^audit chain BROKEN \\(checkpoint-mismatch\\) at lane ${lane}, `, 'm'));
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
});

describe('purging audit rows for retention', () => {
  it('deletes a prefix of each lane, and verification starts from the moved anchor; editing the anchor breaks it', async () => {
    const service = await startTestService();
    const old = '2020-01-01T00:00:00.000Z';
    const values = (recordedAt: string) => [recordedAt, 'test:aged', 'ok', 'raw', 'system', 'CPIS', 'aged'];
    const lane = await withDb(service.databaseUrl, async (db) => {
      await db.query('BEGIN');
      for (let i = 0; i < 3; i++) {
        await db.query('INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)', values(old));
      }
      const { rows } = await db.query(
        'INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING lane',
        values(new Date().toISOString()),
      );
      await db.query('COMMIT');
      return rows[0].lane as number;
    });
    const la = await laToken(service, syntheticLaCode());
    expect((await uploadJson(service, la, 1, [childRecord()])).status).toBe(201);
    expect((await verify(service.databaseUrl)).stdout).toMatch(/^audit chain intact: 5 rows checked/);

    const client = await service.composition.pool.connect();
    try {
      await client.query('BEGIN');
      expect(await purgeChainBefore(client, AUDIT_CHAIN, '2021-01-01T00:00:00.000000Z')).toBe(3);
      await client.query('COMMIT');
      // Nothing is left before the cutoff: a second purge finds nothing to do.
      expect(await purgeChainBefore(client, AUDIT_CHAIN, '2021-01-01T00:00:00.000000Z')).toBe(0);
    } finally {
      client.release();
    }
    await service.stop();
    const anchor = await withDb(service.databaseUrl, async (db) => (await db.query('SELECT seq::int AS seq FROM audit_chain_anchors WHERE lane = $1', [lane])).rows[0].seq);
    expect(anchor).toBe(3);
    const after = await verify(service.databaseUrl);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^audit chain intact: 2 rows checked in 64 lanes; head seq 5,/);

    await withDb(service.databaseUrl, (db) => db.query('UPDATE audit_chain_anchors SET hash = sha256(hash) WHERE lane = $1', [lane]));
    const broken = await verify(service.databaseUrl);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`\\(anchor-mismatch\\) at lane ${lane}, seq 4, `));
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
