import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/service.ts';
import { runToExit, spawnService, type ServiceProcess } from '../support/process.ts';

const CLI = fileURLToPath(new URL('../../src/cli/pds-mode.ts', import.meta.url));
let databaseUrl: string;
let dataDir: string;
const running: ServiceProcess[] = [];
beforeAll(async () => {
  [databaseUrl, dataDir] = await Promise.all([createTestDatabase(), mkdtemp(path.join(tmpdir(), 'cpis-deploy-'))]);
});
afterAll(async () => {
  for (const instance of running) instance.child.kill('SIGKILL');
  await Promise.all(running.map((i) => i.exited));
  await rm(dataDir, { recursive: true, force: true });
});

const start = async (mode: string) => {
  const instance = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, PDS_MODE: mode, PDS_RECHECK_POLL_SECONDS: '0' }, 60_000, { until: 'health' });
  running.push(instance);
  return instance;
};
/** Starts an instance that should refuse: its exit code and its one fatal line. */
const refusal = async (mode: string) => {
  const instance = await start(mode);
  const { code } = await instance.exited;
  const fatal = instance.output.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 60);
  return { code, fatal: fatal.map((l) => l.msg) };
};
const serves = async (instance: ServiceProcess) => {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${instance.url}/health/ready`).catch(() => undefined))?.status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
};

describe('the PDS mode is one fact for the whole deployment', () => {
  it('is recorded by the first instance; one configured otherwise refuses to start until an operator changes it, audited', async () => {
    const first = await start('off');
    expect(await serves(first)).toBe(true);
    expect(await refusal('sandbox')).toEqual({
      code: 78,
      fatal: [
        'PDS_MODE is sandbox here, but this deployment checks uploads with PDS_MODE=off: every instance must check them the same way. ' +
          'Start this instance with PDS_MODE=off, or stop every instance and change the deployment\'s mode with npm run --silent pds-mode -- sandbox',
      ],
    });
    first.child.kill('SIGTERM');
    await first.exited;

    const changed = await runToExit([CLI, 'sandbox', '--operator', 'ops-on-call'], { DATABASE_URL: databaseUrl, DATA_DIR: dataDir });
    expect(changed).toMatchObject({ code: 0, stdout: 'PDS mode of this deployment: sandbox (was off)\n', stderr: '' });
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT user_id, detail FROM audit_events WHERE action = 'deployment:pds-mode'`);
      expect(rows).toEqual([{ user_id: 'ops-on-call', detail: { from: 'off', to: 'sandbox' } }]);
    } finally {
      await db.end();
    }
    expect(await serves(await start('sandbox'))).toBe(true);
    expect((await refusal('off')).code).toBe(78);
    expect((await runToExit([CLI, 'sometimes'], { DATABASE_URL: databaseUrl, DATA_DIR: dataDir })).code).toBe(64);
  }, 120_000);
});
