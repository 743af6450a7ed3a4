import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService } from '../support/process.ts';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.ts';
import { sharedKeyTokens } from '../support/shared-key.ts';

let db: RestartablePostgres;
let dataDir: string;
beforeAll(async () => {
  [db, dataDir] = await Promise.all([startRestartablePostgres(), mkdtemp(path.join(tmpdir(), 'cpis-startup-'))]);
  await db.stop();
}, 60_000);
afterAll(async () => {
  await db?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Line = { level: number; msg: string; time: number; attempt?: number };
const linesOf = (output: string[]) => output.map((l) => JSON.parse(l) as Line);

describe('start-up before PostgreSQL is up', () => {
  it('answers health checks (live, not ready) and 503s while it waits, then serves once PostgreSQL accepts connections', async () => {
    const worker = await (await sharedKeyTokens(dataDir))({ sub: 'early-worker', role: 'social-worker', org: 'TSTART1' });
    const instance = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: db.url, DATABASE_STARTUP_TIMEOUT_SECONDS: '60' }, 30_000, { until: 'health' });
    try {
      expect((await fetch(`${instance.url}/health/live`)).status).toBe(200);
      const ready = await fetch(`${instance.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, unknown> }).checks.starting).toEqual({ ok: false, detail: 'starting: waiting for PostgreSQL and migrations' });
      const mailbox = await fetch(`${instance.url}/la/v1/notifications`, { headers: { authorization: `Bearer ${worker}` } });
      expect(mailbox.status).toBe(503);
      expect(mailbox.headers.get('retry-after')).toBe('5');
      expect(((await mailbox.json()) as { issue: { details: { coding: { code: string }[] } }[] }).issue[0]?.details.coding[0]?.code).toBe('UNABLE_TO_CALL_SERVICE');
      const upgrade = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${instance.url.replace('http', 'ws')}/la/v1/notifications/stream`, { headers: { authorization: `Bearer ${worker}` } });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      expect(upgrade).toBe(503);

      await sleep(1_500);
      await db.start();
      const upAt = Date.now();
      while ((await fetch(`${instance.url}/health/ready`)).status !== 200) {
        expect(Date.now() - upAt).toBeLessThan(5_000);
        await sleep(50);
      }
      expect((await fetch(`${instance.url}/la/v1/notifications`, { headers: { authorization: `Bearer ${worker}` } })).status).toBe(200);
      const lines = linesOf(instance.output);
      const waits = lines.filter((l) => l.msg === 'waiting for PostgreSQL');
      // One line per attempt, numbered; the backoff keeps them few.
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(waits.map((l) => l.attempt)).toEqual(waits.map((_, i) => i + 1));
      expect(lines.some((l) => l.msg.startsWith('cpis listening on'))).toBe(true);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      instance.child.kill('SIGTERM');
      expect((await instance.exited).code).toBe(0);
      await db.stop();
    }
  }, 60_000);

  it('gives up after DATABASE_STARTUP_TIMEOUT_SECONDS with one clear message and exit code 69', async () => {
    const instance = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: db.url, DATABASE_STARTUP_TIMEOUT_SECONDS: '2' }, 30_000, { until: 'health' });
    expect((await fetch(`${instance.url}/health/live`)).status).toBe(200);
    const { code } = await instance.exited;
    expect(code).toBe(69);
    // Timed by the service's own log (from its first line to its last): Node's start on a busy machine is not the wait.
    const lines = linesOf(instance.output);
    expect((lines.at(-1)?.time ?? Infinity) - (lines[0]?.time ?? 0)).toBeLessThan(8_000);
    const fatal = lines.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toBe(
      'PostgreSQL did not accept connections within DATABASE_STARTUP_TIMEOUT_SECONDS (2 s; last error ECONNREFUSED): start it, or check DATABASE_URL and the network',
    );
  }, 30_000);

  it('leaves at once, exit 0, when told to stop while it waits', async () => {
    const instance = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: db.url, DATABASE_STARTUP_TIMEOUT_SECONDS: '60' }, 30_000, { until: 'health' });
    const signalled = Date.now();
    instance.child.kill('SIGTERM');
    expect((await instance.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3_000);
  }, 30_000);
});
