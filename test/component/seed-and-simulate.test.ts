import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, bareLaToken, uploadJson, type TestService } from '../support/service.ts';
import { runToExit } from '../support/process.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { DEMO_LAS, nhsNumberOf } from '../../src/cli/synthetic-register.ts';

const SEED = fileURLToPath(new URL('../../src/cli/seed.ts', import.meta.url));
const SIMULATE = fileURLToPath(new URL('../../src/cli/simulate.ts', import.meta.url));

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const spaced = (n: string) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;

/** The sequence number the seed printed for each LA it loaded. */
function sequencesOf(stdout: string): Record<string, number> {
  return Object.fromEntries([...stdout.matchAll(/^ {2}(\S+) .* CPF02 .*\(sequence (\d+),/gm)].map((m) => [m[1], Number(m[2])]));
}

async function seed() {
  const { code, stdout, stderr } = await runToExit([SEED, '--url', service.url, '--per-la', '20'], { DATA_DIR: service.dataDir });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return stdout;
}

/** The README's "Try it": LA001 set up as Exampleshire, with Sam Example (999 000 0018) on a plan as batch 1. */
async function tryIt() {
  const token = await service.token({ role: 'la-system', org: 'LA001', org_name: 'Exampleshire', name: 'Try it' });
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Exampleshire', officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999' }),
  });
  expect(put.status).toBe(200);
  const upload = await uploadJson(service, token, 1, [
    { nhsNumber: '999 000 0018', familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-01', planType: 'CPP', startDate: '2025-02-01' },
  ]);
  expect(upload.status).toBe(201);
  const held = async () => {
    const { now: _now, ...organisation } = await (await service.fetch('/la/v1/organisation', { token })).json();
    return { organisation, plans: (await (await service.fetch('/la/v1/plans', { token })).json()).plans };
  };
  return { token, held };
}

describe('npm run seed and npm run simulate', () => {
  it('seeds its own LAs through the API, next after each LA\'s last batch, leaving the README\'s "Try it" alone; the simulator looks its children up', async () => {
    const readme = await tryIt();
    const before = await readme.held();

    for (let run = 1; run <= 2; run++) {
      const stdout = await seed();
      // A fresh LA's first batch is 1, the next seed's 2: small numbers, one after the other.
      expect(sequencesOf(stdout)).toEqual(Object.fromEntries(DEMO_LAS.map((la) => [la.code, run])));
      // What it made is on the terminal: each LA's phones and NHS numbers, and where to look next.
      for (const [i, la] of DEMO_LAS.entries()) {
        expect(stdout).toContain(`office hours ${la.officeHoursPhone}, EDT ${la.edtPhone}`);
        expect(stdout).toContain(`NHS numbers ${spaced(nhsNumberOf(i, 0))} to ${spaced(nhsNumberOf(i, 19))}`);
      }
      expect(stdout).toMatch(/sign in as DEMO01/);
    }

    for (const la of DEMO_LAS) {
      expect(la.code).not.toBe('LA001');
      // Bare: setting the LA up here would overwrite what the seed set.
      const token = await bareLaToken(service, la.code);
      const { plans } = await (await service.fetch('/la/v1/plans?limit=100', { token })).json();
      expect(plans).toHaveLength(20);
      // Synthetic, and never in 999 000 xxxx, the numbers the README's examples use.
      for (const plan of plans) expect(plan.nhsNumber).toMatch(/^999(?!000)\d{7}$/);
      const organisation = await (await service.fetch('/la/v1/organisation', { token })).json();
      expect(organisation).toMatchObject({ name: la.name, edtPhone: la.edtPhone });
    }

    // The README's LA and child are as "Try it" left them: one plan of one LA.
    expect(await readme.held()).toEqual(before);
    const bundle = await searchFor(service, await clinicianToken(service, { sub: 'seed-check-dr' }), 'CareTeam', '9990000018', { IsUnscheduledAccessEvent: 'false' });
    expect(bundle.total).toBe(1);

    // An LA whose last batch came from elsewhere gets the next number after it.
    const other = DEMO_LAS[1]?.code as string;
    expect((await uploadJson(service, await bareLaToken(service, other), 41, [])).status).toBe(201);
    expect(sequencesOf(await seed())).toEqual(Object.fromEntries(DEMO_LAS.map((la) => [la.code, la.code === other ? 42 : 3])));

    const sim = await runToExit([SIMULATE, '--url', service.url, '--per-la', '20', '--count', '12', '--rate', '100'], { DATA_DIR: service.dataDir });
    expect(sim.code).toBe(0);
    expect(sim.stdout.split('\n').filter((l) => /found|no plan/.test(l))).toHaveLength(12);
    expect(sim.stdout).not.toMatch(/\b999\d{7}\b/);
  });
});
