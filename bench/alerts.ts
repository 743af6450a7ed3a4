import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.ts';
import { ndjsonChunks, nhsNumberOf, syntheticRecords } from '../src/cli/synthetic-register.ts';
import { loadOrCreateDevKey, mintDevToken } from '../adapters/auth/dev-keys.ts';
import { spawnService } from './support/child-service.ts';
import { postStream, setUpLa } from './support/http.ts';
import { get } from './support/load.ts';
import { openBenchPostgres } from './support/postgres.ts';
import { writeResult } from './support/report.ts';
import { integerOption, parseOptions } from './support/usage.ts';

const USAGE = 'usage: npm run bench -- alerts [--sockets 1000] [--las 100] [--rate 500] [--seconds 10]';
const TARGET_P99_MS = 50;
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const BARE = fileURLToPath(new URL('./support/bare-ws-server.ts', import.meta.url));
const laCode = (i: number) => `AL${String(i).padStart(3, '0')}`;

const rssMiB = async (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const pct = (sorted: number[], p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN) * 100) / 100;

async function connectAll(urls: { url: string; headers?: Record<string, string> }[], onFrame: (data: string) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < urls.length; i += 50) {
    sockets.push(...(await Promise.all(urls.slice(i, i + 50).map(({ url, headers }) => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.on('message', (d) => onFrame(d.toString()));
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })))));
  }
  return sockets;
}

/** Fires `send(i)` on a fixed schedule for `seconds`, then waits a moment for the last frames. */
async function schedule(rate: number, seconds: number, send: (i: number) => Promise<unknown>): Promise<void> {
  const origin = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const wait = origin + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(i).catch(() => undefined));
  }
  await Promise.all(inflight);
  await new Promise((r) => setTimeout(r, 1000));
}

export async function run(args: string[]): Promise<void> {
  const v = parseOptions(args, { sockets: { type: 'string', default: '1000' }, las: { type: 'string', default: '100' }, rate: { type: 'string', default: '500' }, seconds: { type: 'string', default: '10' } }, USAGE);
  const socketCount = integerOption(v.sockets as string, 'sockets', 1, 20_000, USAGE);
  const las = integerOption(v.las as string, 'las', 1, 500, USAGE);
  const rate = integerOption(v.rate as string, 'rate', 1, 5_000, USAGE);
  const seconds = integerOption(v.seconds as string, 'seconds', 1, 120, USAGE);
  const perLa = Math.ceil((rate * seconds) / las) + 10;

  const postgres = await openBenchPostgres();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-bench-alerts-'));
  const config = loadConfig({ DATA_DIR: dataDir });
  const key = await loadOrCreateDevKey(dataDir);
  const mint = (claims: Parameters<typeof mintDevToken>[1]) => mintDevToken(key, claims, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3600 });
  const service = await spawnService({ DATABASE_URL: await postgres.createDatabase('bench_alerts'), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', DB_POOL_SIZE: '20', RATE_LIMIT_PER_SECOND: '0', STREAM_MAX_CONNECTIONS_PER_CLIENT: '0' });
  const bareProcess = spawn(process.execPath, [BARE], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    // One synthetic register cut into LAs: LA la holds children la*perLa … (la+1)*perLa-1.
    const all = [...syntheticRecords({ laIndex: 0, count: las * perLa, seed: 1 })];
    for (let la = 0; la < las; la++) {
      const token = await mint({ sub: `bench-la-${la}`, role: 'la-system', org: laCode(la) });
      await setUpLa(service.url, token, `${laCode(la)} Council`);
      const reply = await postStream(`${service.url}/la/v1/uploads`, { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' },
        ndjsonChunks(all.slice(la * perLa, (la + 1) * perLa)));
      if (reply.status !== 201) throw new Error(`seeding ${laCode(la)} answered ${reply.status}`);
    }
    const workers = await Promise.all(Array.from({ length: las }, (_, la) => mint({ sub: `bench-sw-${la}`, role: 'social-worker', org: laCode(la) })));
    const clinicians = await Promise.all(Array.from({ length: 200 }, (_, i) => mint({ sub: `bench-dr-${i}`, role: 'clinician', org: 'RBENCH', setting: 'emergency-department', activities: ['B0107'] })));

    // The service: lookups over HTTP, frames received on 1,000 sockets; latency from the notification's occurredAt.
    const serviceLatencies: number[] = [];
    let frameBytes = 0;
    const rssBefore = await rssMiB(service.pid);
    const wsBase = service.url.replace('http', 'ws');
    const sockets = await connectAll(Array.from({ length: socketCount }, (_, i) => ({ url: `${wsBase}/la/v1/notifications/stream`, headers: { authorization: `Bearer ${workers[i % las]}` } })), (data) => {
      const frame = JSON.parse(data) as { type: string; notification?: { occurredAt: string } };
      if (frame.type === 'notification') frameBytes ||= data.length;
      if (frame.type === 'notification' && frame.notification) serviceLatencies.push(Date.now() - Date.parse(frame.notification.occurredAt));
    });
    const rssSockets = await rssMiB(service.pid);
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    let found = 0;
    // The lookups' own latency, answered once committed: the part of lookup → frame before the NOTIFY.
    const lookupLatencies: number[] = [];
    await schedule(rate, seconds, async (i) => {
      const la = i % las;
      const url = `${service.url}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS}|${nhsNumberOf(0, la * perLa + Math.floor(i / las))}`)}`;
      const res = await get(agent, url, { authorization: `Bearer ${clinicians[i % clinicians.length]}` });
      lookupLatencies.push(res.ms);
      // A child whose plans all ended outside the window is an empty searchset: no alert is due.
      if (res.status === 200 && !res.body.includes('"total":0')) found++;
    });
    for (const ws of sockets) ws.terminate();

    // The ceiling: the same fan-out from a bare ws server, published on the same schedule.
    const bareUrl = (JSON.parse(await new Promise<string>((resolve) => createInterface({ input: bareProcess.stdout }).once('line', resolve))) as { url: string; pid: number });
    const bareLatencies: number[] = [];
    const bareSockets = await connectAll(Array.from({ length: socketCount }, (_, i) => ({ url: `${bareUrl.url.replace('http', 'ws')}/?la=${i % las}` })), (data) => {
      bareLatencies.push(Date.now() - (JSON.parse(data) as { sentAt: number }).sentAt);
    });
    await schedule(rate, seconds, (i) => new Promise((resolve, reject) => {
      const req = request(`${bareUrl.url}/publish?la=${i % las}`, { method: 'POST', agent }, (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      // Padded to the size of the service's own notification frames.
      req.end(JSON.stringify({ type: 'notification', sentAt: Date.now(), padding: 'x'.repeat(Math.max(0, frameBytes - 60)) }));
    }));
    for (const ws of bareSockets) ws.terminate();
    agent.destroy();

    serviceLatencies.sort((a, b) => a - b);
    bareLatencies.sort((a, b) => a - b);
    lookupLatencies.sort((a, b) => a - b);
    const expectedFrames = Math.round(found * (socketCount / las));
    const result = {
      benchmark: 'alerts', at: new Date().toISOString(), sockets: socketCount, las, rate, seconds, postgres: { kind: postgres.kind, version: postgres.serverVersion },
      frameBytes,
      service: {
        frames: serviceLatencies.length, expectedFrames, p50: pct(serviceLatencies, 50), p99: pct(serviceLatencies, 99),
        lookups: { p50: pct(lookupLatencies, 50), p99: pct(lookupLatencies, 99) }, socketsMemoryMiB: Math.round((rssSockets - rssBefore) * 10) / 10, rssMiB: Math.round(rssSockets) },
      bare: { frames: bareLatencies.length, p50: pct(bareLatencies, 50), p99: pct(bareLatencies, 99) },
      targetP99Ms: TARGET_P99_MS,
    };
    console.log(`alerts: ${socketCount} sockets over ${las} LAs, ${rate} lookups/s for ${seconds} s (PostgreSQL ${postgres.kind} ${postgres.serverVersion})`);
    console.log(`  service  lookup → frame  p50 ${result.service.p50} ms  p99 ${result.service.p99} ms  (${result.service.frames}/${expectedFrames} frames; target p99 ≤ ${TARGET_P99_MS} ms)`);
    console.log(`           the lookups themselves (answered once committed) p50 ${result.service.lookups.p50} ms  p99 ${result.service.lookups.p99} ms`);
    console.log(`  bare ws  publish → frame p50 ${result.bare.p50} ms  p99 ${result.bare.p99} ms  (${result.bare.frames} frames)`);
    console.log(`  sockets' memory in the service: ${result.service.socketsMemoryMiB} MiB for ${socketCount} sockets (RSS ${result.service.rssMiB} MiB)`);
    console.log(`result: ${await writeResult('alerts', result)}`);
  } finally {
    bareProcess.kill('SIGTERM');
    await service.stop();
    await postgres.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
