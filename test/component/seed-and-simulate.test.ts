import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, bareLaToken, type TestService } from '../support/service.ts';
import { runToExit } from '../support/process.ts';
import { DEMO_LAS } from '../../src/cli/synthetic-register.ts';

const SEED = fileURLToPath(new URL('../../src/cli/seed.ts', import.meta.url));
const SIMULATE = fileURLToPath(new URL('../../src/cli/simulate.ts', import.meta.url));

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

describe('npm run seed and npm run simulate', () => {
  it('seeds every demo LA through the API, idempotently, and the simulator looks its children up', async () => {
    for (let run = 0; run < 2; run++) {
      const { code, stdout } = await runToExit([SEED, '--url', service.url, '--per-la', '20'], { DATA_DIR: service.dataDir });
      expect(code).toBe(0);
      expect(stdout).toMatch(/CPF02/);
    }
    for (const la of DEMO_LAS) {
      // Bare: setting the LA up here would overwrite what the seed set.
      const token = await bareLaToken(service, la.code);
      const { plans } = await (await service.fetch('/la/v1/plans?limit=100', { token })).json();
      expect(plans).toHaveLength(20);
      for (const plan of plans) expect(plan.nhsNumber).toMatch(/^999\d{7}$/);
      const organisation = await (await service.fetch('/la/v1/organisation', { token })).json();
      expect(organisation).toMatchObject({ name: la.name, edtPhone: la.edtPhone });
    }
    const sim = await runToExit([SIMULATE, '--url', service.url, '--per-la', '20', '--count', '12', '--rate', '100'], { DATA_DIR: service.dataDir });
    expect(sim.code).toBe(0);
    expect(sim.stdout.split('\n').filter((l) => /found|no plan/.test(l))).toHaveLength(12);
    expect(sim.stdout).not.toMatch(/\b999\d{7}\b/);
  });
});
