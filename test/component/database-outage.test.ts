import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenClaims } from '../../adapters/auth/dev-keys.ts';
import { childRecord, syntheticLaCode, type RecordInput } from '../support/synthetic.ts';
import { spawnService, type ServiceProcess } from '../support/process.ts';
import { setUpTestLa } from '../support/service.ts';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.ts';
import { tcpConnectionsTo } from '../support/sockets.ts';
import { NHS_SYSTEM } from '../support/care-setting.ts';
import { sharedKeyTokens } from '../support/shared-key.ts';

// Small pools, so that a leak or a reconnect storm shows at once: at most 3 + 3 + 2 + 1 (LISTEN) per instance.
const POOLS = { DB_POOL_SIZE: '3', DB_LOOKUP_POOL_SIZE: '3', DB_BULK_POOL_SIZE: '2' };
const MAX_CONNECTIONS = 3 + 3 + 2 + 1;
const HEARTBEAT_MS = 1_000;

type Frame = { type: string; at: number; notification?: { eventNumber: number }; lastEventNumber?: number };

let db: RestartablePostgres;
let dataDir: string;
let instances: ServiceProcess[] = [];
let token: (claims: TokenClaims) => Promise<string>;

beforeAll(async () => {
  db = await startRestartablePostgres();
  dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-outage-'));
  token = await sharedKeyTokens(dataDir);
  const env = {
    DATA_DIR: dataDir, DATABASE_URL: db.url, ...POOLS,
    STREAM_HEARTBEAT_SECONDS: String(HEARTBEAT_MS / 1000), OUTBOX_SWEEP_MS: '500', RETENTION_INTERVAL_SECONDS: '0', RATE_LIMIT_PER_SECOND: '0',
  };
  instances = await Promise.all([spawnService(env), spawnService(env)]);
}, 120_000);

afterAll(async () => {
  for (const instance of instances) instance.child.kill('SIGKILL');
  await Promise.all(instances.map((i) => i.exited));
  await db?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A duty worker's stream on one instance, every frame kept with the time it arrived. */
async function openWorkerStream(url: string, bearer: string, after: number) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/la/v1/notifications/stream?after=${after}`, { headers: { authorization: `Bearer ${bearer}` } });
  const frames: Frame[] = [];
  let closed: { code: number } | undefined;
  ws.on('message', (data) => frames.push({ ...JSON.parse(data.toString()), at: Date.now() }));
  ws.on('close', (code) => (closed = { code }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const eventNumbers = () => frames.flatMap((f) => (f.notification ? [f.notification.eventNumber] : []));
  return { ws, frames, eventNumbers, isClosed: () => closed !== undefined };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

const timed = async (call: () => Promise<Response>) => {
  const started = Date.now();
  const response = await call();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started, body: await response.text() };
};

describe('a PostgreSQL outage', () => {
  it('is survived by two instances, repeatedly: honest 503s, one listener each, recovery within 5 s, and every notification delivered', async () => {
    const org = syntheticLaCode();
    const la = await token({ sub: 'la-system', role: 'la-system', org, org_name: `${org} Council` });
    const worker = await token({ sub: 'duty-1', role: 'social-worker', org, name: 'Duty Worker' });
    const clinician = await token({ sub: 'dr-1', role: 'clinician', org: 'RXX01', org_name: 'Example ED', setting: 'emergency-department', activities: ['B0107'] });
    const [a, b] = instances as [ServiceProcess, ServiceProcess];
    await setUpTestLa(a.url, la, `${org} Council`);
    const children: RecordInput[] = Array.from({ length: 8 }, () => childRecord());
    const upload = await fetch(`${a.url}/la/v1/uploads`, {
      method: 'POST', headers: { authorization: `Bearer ${la}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sequenceNumber: 1, records: children }),
    });
    expect(upload.status).toBe(201);
    const lookUp = (url: string, child: RecordInput) =>
      fetch(`${url}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${String(child.nhsNumber)}`)}`, { headers: { authorization: `Bearer ${clinician}` } });

    const streams = await Promise.all([openWorkerStream(a.url, worker, 0), openWorkerStream(b.url, worker, 0)]);
    expect((await lookUp(a.url, children[0] as RecordInput)).status).toBe(200);
    let committed = 1;
    await until(() => streams.every((s) => s.eventNumbers().length === committed), 5_000, 'the first notification on both instances');

    // Load all along: repeat views of the first child by the same clinician (the same-user 24-hour rule
    // makes them add no notification), four at a time on each instance.
    const statuses = new Map<number, number>();
    let slowest = 0;
    let loading = true;
    const load = Promise.all(instances.flatMap((instance) => Array.from({ length: 4 }, async () => {
      while (loading) {
        const started = Date.now();
        const res = await lookUp(instance.url, children[0] as RecordInput).catch(() => undefined);
        slowest = Math.max(slowest, Date.now() - started);
        statuses.set(res?.status ?? -1, (statuses.get(res?.status ?? -1) ?? 0) + 1);
        await res?.arrayBuffer();
        await sleep(20);
      }
    })));

    // What the kernel sees each instance hold to PostgreSQL, connect attempts included, all along.
    const peak = new Map<number, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const { child } of instances) {
          const pid = child.pid as number;
          peak.set(pid, Math.max(peak.get(pid) ?? 0, await tcpConnectionsTo(pid, db.port)));
        }
        await sleep(50);
      }
    })();

    const outages = [1_000, 10_000, 2_000];
    const recoveries: number[] = [];
    const quiet: { from: number; to: number }[] = [];
    for (const [i, outageMs] of outages.entries()) {
      await db.stop();
      const downAt = Date.now();
      const url = (i % 2 === 0 ? a : b).url;
      const during = await Promise.all([
        timed(() => fetch(`${url}/health/live`)),
        timed(() => fetch(`${url}/health/ready`)),
        timed(() => lookUp(url, children[i + 1] as RecordInput)),
        timed(() => fetch(`${url}/la/v1/notifications?after=0`, { headers: { authorization: `Bearer ${worker}` } })),
        timed(() => fetch(`${url}/la/v1/notifications/stream-tickets`, { method: 'POST', headers: { authorization: `Bearer ${worker}` } })),
        timed(() =>
          fetch(`${url}/la/v1/uploads`, {
            method: 'POST', headers: { authorization: `Bearer ${la}`, 'content-type': 'application/json' },
            body: JSON.stringify({ sequenceNumber: 10 + i, records: [childRecord()] }),
          }),
        ),
      ]);
      const [live, ready, ...refused] = during;
      expect(live).toMatchObject({ status: 200 });
      expect(live?.ms).toBeLessThan(1_000);
      expect(ready?.status).toBe(503);
      expect(JSON.parse(ready?.body ?? '{}').checks.database).toEqual({ ok: false, detail: 'PostgreSQL is not reachable' });
      for (const answer of refused) {
        expect(answer).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
        expect(JSON.parse(answer.body).issue[0].details.coding[0].code).toBe('UNABLE_TO_CALL_SERVICE');
        expect(answer.ms).toBeLessThan(3_000);
      }
      // A stream cannot be opened while the database is away: refused with 503, never upgraded and left silent.
      const upgrade = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/la/v1/notifications/stream?after=0`, { headers: { authorization: `Bearer ${worker}` } });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      expect(upgrade).toBe(503);

      await sleep(Math.max(0, outageMs - (Date.now() - downAt)));
      quiet.push({ from: downAt + 2 * HEARTBEAT_MS, to: Date.now() });
      await db.start();
      const upAt = Date.now();
      await until(async () => (await Promise.all(instances.map((x) => fetch(`${x.url}/health/ready`)))).every((r) => r.status === 200), 5_000, 'both instances ready');
      recoveries.push(Date.now() - upAt);

      // Live delivery resumes on the sockets opened before the outage, from either instance's lookups.
      expect((await lookUp(i % 2 === 0 ? b.url : a.url, children[i + 1] as RecordInput)).status).toBe(200);
      committed++;
      await until(() => streams.every((s) => s.eventNumbers().length === committed), 5_000, `notification ${committed} on both instances`);
    }
    sampling = false;
    loading = false;
    await Promise.all([sampler, load]);
    // Under load, through every outage: served or told to come back, never a fault, never a hang.
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(slowest).toBeLessThan(3_000);

    for (const recovery of recoveries) expect(recovery).toBeLessThanOrEqual(5_000);
    for (const { child } of instances) expect(peak.get(child.pid as number)).toBeLessThanOrEqual(MAX_CONNECTIONS);
    expect((await db.connections())['cpis-listener']).toBe(2);

    const expected = Array.from({ length: committed }, (_, i) => i + 1);
    const mailbox = (await (await fetch(`${b.url}/la/v1/notifications?after=0`, { headers: { authorization: `Bearer ${worker}` } })).json()) as { notifications: { eventNumber: number }[] };
    expect(mailbox.notifications.map((n) => n.eventNumber)).toEqual(expected);
    const lastFrameAt = Math.max(...streams.map((s) => s.frames.at(-1)?.at ?? 0));
    await until(() => streams.every((s) => s.frames.some((f) => f.type === 'heartbeat' && f.at > lastFrameAt)), 5_000, 'a heartbeat after the last notification');
    for (const stream of streams) {
      expect(stream.isClosed()).toBe(false);
      expect(stream.eventNumbers()).toEqual(expected);
      const heartbeats = stream.frames.filter((f) => f.type === 'heartbeat');
      // A heartbeat never claims a number that was not yet delivered or known, and none comes while the outbox cannot be read.
      for (const beat of heartbeats) expect(beat.lastEventNumber).toBeLessThanOrEqual(committed);
      expect(heartbeats.filter((beat) => quiet.some((q) => beat.at > q.from && beat.at < q.to))).toEqual([]);
      expect(heartbeats.at(-1)?.lastEventNumber).toBe(committed);
      stream.ws.close();
    }

    for (const { output } of instances) {
      const lines = output.map((l) => JSON.parse(l) as { level: number; msg: string; res?: { statusCode: number } });
      expect(lines.filter((l) => l.msg === 'listener reconnected')).toHaveLength(outages.length);
      // One line per attempt, and attempts spaced by backoff: a handful per outage, never a storm.
      expect(lines.filter((l) => l.msg === 'listener reconnect failed').length).toBeLessThan(25);
      expect(lines.filter((l) => l.res?.statusCode === 500)).toEqual([]);
      expect(lines.filter((l) => l.msg === 'unhandled error')).toEqual([]);
    }
  }, 120_000);
});
