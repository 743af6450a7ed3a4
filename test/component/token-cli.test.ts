import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticLaCode } from '../support/synthetic.ts';
import { runToExit } from '../support/process.ts';
import { startTestService, type TestService } from '../support/service.ts';

const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

/** `npm run --silent token -- …` against the service's DATA_DIR (its dev signing key). */
const mint = (...args: string[]) => runToExit([TOKEN_CLI, ...args], { DATA_DIR: service.dataDir, NODE_ENV: 'test' });

describe('npm run token', () => {
  it('mints, for every role the service knows, a token the service accepts', async () => {
    const org = syntheticLaCode();
    for (const role of ['clinician', 'la-system', 'social-worker', 'ops']) {
      const { code, stdout, stderr } = await mint('--role', role, '--org', org, '--sds-user-id', '555021935107', '--job-role', 'S8000:G8000:R8000');
      expect(stderr, role).toBe('');
      expect(code, role).toBe(0);
      // The bare token and nothing else on stdout.
      expect(stdout).toMatch(new RegExp(`^${JWT.source.slice(1, -1)}\\n$`));
      // Accepted: a 200, or a 403 for a role that may not use the endpoint, never a 401.
      const res = await service.fetch('/la/v1/organisation', { token: stdout.trim() });
      expect(res.status, role).toBe(role === 'la-system' || role === 'social-worker' ? 200 : 403);
    }
  });

  it('refuses, with exit 64 and the allowed values, a role the service would refuse, and mints nothing', async () => {
    const { code, stdout, stderr } = await mint('--role', 'doctor', '--org', 'RXX01');
    expect(code).toBe(64);
    expect(stdout).toBe('');
    expect(stderr).toContain('--role must be one of: clinician, la-system, social-worker, ops');
    expect(stderr).toContain('token-claims.schema.json');
    expect(stderr).toMatch(/^usage: npm run --silent token/m);
    // The value given is not repeated: only what it must be.
    expect(stderr).not.toContain('doctor');
  });

  it('names every claim the service would refuse, by its option, in one answer', async () => {
    const { code, stdout, stderr } = await mint(
      '--role', 'clinician', '--org', 'RXX-01', '--setting', 'Emergency Department', '--activity', 'B0107', '--activity', 'view',
      '--sds-user-id', '5550219', '--job-role', 'doctor', '--name', 'x'.repeat(201),
    );
    expect(code).toBe(64);
    expect(stdout).toBe('');
    const lines = stderr.split('\n');
    for (const expected of [
      '  --org must match ^[A-Za-z0-9]{1,12}$',
      '  --setting must match ^[a-z0-9-]{1,64}$',
      '  --activity (number 2) must match ^[A-Z][0-9]{4}$',
      '  --sds-user-id must match ^[0-9]{12}$',
      '  --job-role must match ^(S[0-9]{4}:G[0-9]{4}:)?R[0-9]{4}$',
      '  --name must NOT have more than 200 characters',
    ]) expect(lines).toContain(expected);
    // Nothing about the options that are right.
    expect(lines.filter((l) => l.startsWith('  '))).toHaveLength(6);
  });

  it('refuses a wrong call with exit 64: a missing or unknown option, a lifetime the service refuses', async () => {
    for (const args of [['--org', 'LA001'], ['--role', 'ops'], ['--role', 'ops', '--org', 'LA001', '--colour', 'red'], ['--role', 'ops', '--org', 'LA001', '--ttl', '43201'], ['--role', 'ops', '--org', 'LA001', '--ttl', 'soon']]) {
      const { code, stdout, stderr } = await mint(...args);
      expect(code, args.join(' ')).toBe(64);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^usage: npm run --silent token/m);
    }
  });

  it('refuses to mint outside AUTH_MODE=dev (exit 78) and on a bad configuration (exit 78)', async () => {
    const jwks = await runToExit([TOKEN_CLI, '--role', 'ops', '--org', 'LA001'], {
      DATA_DIR: service.dataDir, NODE_ENV: 'test', AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'cpis',
    });
    expect(jwks.code).toBe(78);
    expect(jwks.stdout).toBe('');
    expect(jwks.stderr).toMatch(/AUTH_MODE=dev/);
    const bad = await runToExit([TOKEN_CLI, '--role', 'ops', '--org', 'LA001'], { DATA_DIR: service.dataDir, NODE_ENV: 'test', AUTH_MAX_TOKEN_LIFETIME_SECONDS: 'long' });
    expect(bad.code).toBe(78);
    expect(bad.stdout).toBe('');
  });
});
