import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { MAIN_PATH, runToExit, spawnService } from '../support/process.ts';
import { setUpTestLa } from '../support/service.ts';

const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'cpis-life-'));
  dirs.push(dir);
  return dir;
}

async function mintToken(dir: string, org: string) {
  const { code, stdout, stderr } = await runToExit([TOKEN_CLI, '--role', 'la-system', '--org', org, '--org-name', 'Lifecycle Council'], { DATA_DIR: dir });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return stdout.trim();
}

async function countPlans(url: string, token: string) {
  const res = await fetch(`${url}/la/v1/plans?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { plans: unknown[] }).plans.length;
}

async function upload(url: string, token: string, sequenceNumber: number, records: unknown[]) {
  const res = await fetch(`${url}/la/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sequenceNumber, records }),
  });
  expect(res.status).toBe(201);
}

describe('the service as a process, on the embedded PostgreSQL', () => {
  it('keeps its data across a SIGTERM (exit 0) and a restart, and logs no patient data', async () => {
    const dir = await dataDir();
    const org = syntheticLaCode();
    // NODE_ENV unset, as `npm start` on a fresh machine: a development instance, which says so.
    const first = await spawnService({ DATA_DIR: dir, NODE_ENV: '' });
    expect(first.output.filter((line) => line.includes('DEVELOPMENT INSTANCE (NODE_ENV=development)'))).toHaveLength(1);
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    const token = await mintToken(dir, org);
    await setUpTestLa(first.url, token, 'Lifecycle Council');
    const records = [childRecord({ familyName: 'Persistence', givenNames: 'Quentin' }), childRecord()];
    await upload(first.url, token, 1, records);
    // A bad request too, so that error paths are in the log we scan.
    await fetch(`${first.url}/la/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"records":[{"nhsNumber":' });
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = await spawnService({ DATA_DIR: dir });
    expect(await countPlans(second.url, token)).toBe(2);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const log = [...first.output, ...second.output].join('\n');
    for (const r of records) {
      expect(log).not.toContain(r.nhsNumber as string);
      expect(log).not.toContain(r.birthDate as string);
    }
    expect(log).not.toMatch(/Persistence|Quentin/);
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[1] as string);
    for (const line of first.output) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('drains on SIGTERM within SHUTDOWN_GRACE_MS: streams closed with 1001, a stalled upload cut off, exit 0, nothing logged as an error', async () => {
    const dir = await dataDir();
    const org = syntheticLaCode();
    const first = await spawnService({ DATA_DIR: dir, SHUTDOWN_GRACE_MS: '1500', RATE_LIMIT_PER_SECOND: '0' });
    const token = await mintToken(dir, org);
    await setUpTestLa(first.url, token, 'Lifecycle Council');
    await upload(first.url, token, 1, [childRecord()]);
    const { stdout } = await runToExit([TOKEN_CLI, '--role', 'social-worker', '--org', org], { DATA_DIR: dir });
    const ws = new WebSocket(`${first.url.replace('http', 'ws')}/la/v1/notifications/stream?after=0`, { headers: { authorization: `Bearer ${stdout.trim()}` } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    // An upload whose client sends half its body and then nothing: the grace, not the client, decides when it ends.
    const { port } = new URL(first.url);
    const stalled = connect(Number(port), '127.0.0.1');
    stalled.on('error', () => undefined);
    await new Promise((resolve) => stalled.once('connect', resolve));
    stalled.write(`POST /la/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/x-ndjson\r\nX-Sequence-Number: 2\r\nContent-Length: 100000\r\n\r\n{"nhsNumber":`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Lookups keep arriving until the instance stops taking them.
    const clinician = (await runToExit([TOKEN_CLI, '--role', 'clinician', '--org', 'RXX01', '--activity', 'B0107'], { DATA_DIR: dir })).stdout.trim();
    const statuses: number[] = [];
    const lookUps = Promise.all(Array.from({ length: 4 }, async () => {
      for (;;) {
        const res = await fetch(`${first.url}/cpis/FHIR/R4/CareTeam?patient=9990000018`, { headers: { authorization: `Bearer ${clinician}` } }).catch(() => undefined);
        if (!res) return;
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }));
    while (statuses.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));

    const signalled = Date.now();
    first.child.kill('SIGTERM');
    await lookUps;
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(await closed).toBe(1001);
    expect(await first.exited).toEqual({ code: 0, signal: null });
    // The stalled upload is cut off at the grace; the database then closes in its own time (at most 10 s).
    expect(Date.now() - signalled).toBeLessThan(1500 + 10_000);
    const lines = first.output.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('stopped');
  });

  it('starts its embedded PostgreSQL again when that is killed under it, and serves again with its data and its streams', async () => {
    const dir = await dataDir();
    const org = syntheticLaCode();
    const first = await spawnService({ DATA_DIR: dir, RATE_LIMIT_PER_SECOND: '0' });
    const token = await mintToken(dir, org);
    await setUpTestLa(first.url, token, 'Lifecycle Council');
    const child = childRecord();
    await upload(first.url, token, 1, [child, childRecord()]);
    const worker = (await runToExit([TOKEN_CLI, '--role', 'social-worker', '--org', org], { DATA_DIR: dir })).stdout.trim();
    const clinicianBy = async (sub: string) =>
      (await runToExit([TOKEN_CLI, '--role', 'clinician', '--org', 'RXX01', '--activity', 'B0107', '--sub', sub], { DATA_DIR: dir })).stdout.trim();
    const lookUp = async (clinician: string) =>
      (await fetch(`${first.url}/cpis/FHIR/R4/CareTeam?patient=${String(child.nhsNumber)}`, { headers: { authorization: `Bearer ${clinician}` } })).status;
    const until = async (count: number) => {
      for (let i = 0; i < 300 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    const ws = new WebSocket(`${first.url.replace('http', 'ws')}/la/v1/notifications/stream?after=0`, { headers: { authorization: `Bearer ${worker}` } });
    const received: number[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; notification?: { eventNumber: number } };
      if (frame.notification) received.push(frame.notification.eventNumber);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    // Live before the kill (a replay cut short by the outage would rightly close the socket with 1013).
    expect(await lookUp(await clinicianBy('before-the-kill'))).toBe(200);
    await until(1);
    expect(received).toEqual([1]);

    const pid = Number((await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    while ((await fetch(`${first.url}/health/ready`)).status !== 200) {
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await countPlans(first.url, token)).toBe(2);
    // The socket opened before the outage carries on: another clinician's lookup reaches it.
    expect(await lookUp(await clinicianBy('after-the-restart'))).toBe(200);
    await until(2);
    expect(received).toEqual([1, 2]);
    ws.close();
    const lines = first.output.map((line) => JSON.parse(line) as { msg: string });
    expect(lines.filter((l) => l.msg === 'embedded PostgreSQL exited without being asked; restarting it')).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'embedded PostgreSQL restarted')).toBe(true);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });

  it('recovers by itself after a SIGKILL left the embedded PostgreSQL running', async () => {
    const dir = await dataDir();
    const org = syntheticLaCode();
    const first = await spawnService({ DATA_DIR: dir });
    const token = await mintToken(dir, org);
    await setUpTestLa(first.url, token, 'Lifecycle Council');
    await upload(first.url, token, 1, [childRecord()]);
    first.child.kill('SIGKILL');
    await first.exited;
    const pid = Number((await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(() => process.kill(pid, 0)).not.toThrow();

    const second = await spawnService({ DATA_DIR: dir });
    expect(await countPlans(second.url, token)).toBe(1);
    expect(() => process.kill(pid, 0)).toThrow();
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('refuses a second live instance on the same DATA_DIR with an actionable message', async () => {
    const dir = await dataDir();
    const first = await spawnService({ DATA_DIR: dir });
    await expect(spawnService({ DATA_DIR: dir })).rejects.toThrow(/in use by process .*DATABASE_URL/s);
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });

  it('stops at start-up with one message listing every bad variable', async () => {
    const { code, stderr } = await runToExit([MAIN_PATH], { PORT: 'eighty', AUTH_MODE: 'magic', LOG_LEVEL: 'loud' });
    expect(code).toBe(78);
    expect(stderr).toMatch(/Invalid configuration/);
    for (const name of ['PORT', 'AUTH_MODE', 'LOG_LEVEL']) expect(stderr).toContain(name);
  });
});
