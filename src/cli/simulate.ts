import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config.ts';
import { loadOrCreateDevKey, mintDevToken } from '../../adapters/auth/dev-keys.ts';
import { DEMO_LAS, laCodeOf, nhsNumberOf } from './synthetic-register.ts';

/** Lines on the operator's terminal: settings and outcomes, never an NHS number. */
const say = (line: string) => void process.stdout.write(`${line}\n`);
const complain = (line: string) => void process.stderr.write(`${line}\n`);

const USAGE = 'usage: npm run simulate [-- --rate 0.5] [--per-la 2000] [--count N] [--url http://127.0.0.1:8080]';
const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** Fictional unscheduled (and a few scheduled) care settings that look children up. */
const SETTINGS = [
  { sub: 'sim-ed-1', name: 'Dr Priya Shah', org: 'RSIM1', orgName: 'Northgate General Hospital ED', setting: 'emergency-department', activities: ['B0107'], silent: false },
  { sub: 'sim-utc-1', name: 'Nurse Tom Reed', org: 'RSIM2', orgName: 'Riverside Urgent Treatment Centre', setting: 'urgent-treatment-centre', activities: ['B0107'], silent: false },
  { sub: 'sim-amb-1', name: 'Paramedic Jo Hale', org: 'RSIM3', orgName: 'County Ambulance Service', setting: 'ambulance', activities: ['B0107'], silent: false },
  { sub: 'sim-111-1', name: 'Clinician Ann Moss', org: 'RSIM4', orgName: 'NHS 111 Example', setting: 'nhs-111', activities: ['B0107'], silent: false },
  { sub: 'sim-gp-1', name: 'Dr Sam Kerr', org: 'RSIM5', orgName: 'Hillside Surgery', setting: 'gp', activities: ['B0170'], silent: true },
] as const;

function options() {
  try {
    const { values } = parseArgs({
      options: { rate: { type: 'string', default: '0.5' }, 'per-la': { type: 'string', default: '2000' }, count: { type: 'string' }, url: { type: 'string' } },
      strict: true,
    });
    const rate = Number(values.rate);
    const perLa = Number(values['per-la']);
    const count = values.count === undefined ? Infinity : Number(values.count);
    if (!(rate > 0 && rate <= 200)) throw new Error('--rate must be lookups per second, above 0 and at most 200');
    if (!Number.isInteger(perLa) || perLa < 1) throw new Error('--per-la must match what npm run seed loaded');
    if (!(count >= 1)) throw new Error('--count must be at least 1');
    return { rate, perLa, count, url: values.url?.replace(/\/+$/, '') };
  } catch (error) {
    complain(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const opts = options();
let config;
try {
  config = loadConfig();
} catch (error) {
  complain(error instanceof ConfigError ? error.message : String(error));
  process.exit(2);
}
if (config.auth.mode !== 'dev') {
  complain('the simulator mints dev tokens: run it against a service in AUTH_MODE=dev');
  process.exit(2);
}
const url = opts.url ?? `http://${config.host}:${config.port}`;
const key = await loadOrCreateDevKey(config.dataDir);
const tokens = await Promise.all(
  SETTINGS.map((s) =>
    mintDevToken(key, { sub: s.sub, role: 'clinician', name: s.name, org: s.org, org_name: s.orgName, setting: s.setting, activities: [...s.activities] }, {
      issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: Math.min(12 * 3600, config.auth.maxTokenLifetimeSeconds),
    }),
  ),
);

say(`simulating care-setting lookups against ${url} at about ${opts.rate}/s; Ctrl-C to stop`);
let stop = false;
process.once('SIGINT', () => (stop = true));
process.once('SIGTERM', () => (stop = true));
for (let sent = 0; sent < opts.count && !stop; sent++) {
  const which = Math.floor(Math.random() * SETTINGS.length);
  const setting = SETTINGS[which] as (typeof SETTINGS)[number];
  const laIndex = Math.floor(Math.random() * DEMO_LAS.length);
  // One lookup in ten is for a child on no plan: the usual answer in real life, and an empty searchset.
  const onRegister = Math.random() >= 0.1;
  const nhs = onRegister ? nhsNumberOf(laIndex, Math.floor(Math.random() * opts.perLa)) : nhsNumberOf(DEMO_LAS.length + 1, Math.floor(Math.random() * opts.perLa));
  try {
    const res = await fetch(`${url}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`, {
      headers: { authorization: `Bearer ${tokens[which]}`, IsUnscheduledAccessEvent: String(!setting.silent) },
    });
    const total = res.ok ? ((await res.json()) as { total: number }).total : undefined;
    const outcome = res.ok ? (total ? `found ${total} plan(s) of ${laCodeOf(laIndex)}` : 'no plan') : `HTTP ${res.status}`;
    say(`${new Date().toISOString()} ${setting.setting}${setting.silent ? ' (silent)' : ''}: ${outcome}`);
  } catch (error) {
    complain(`lookup failed: ${(error as Error).message}; is the service running at ${url}?`);
  }
  // Exponential gaps: arrivals as a Poisson process, like real attendances.
  await sleep(Math.min(60_000, (-Math.log(1 - Math.random()) / opts.rate) * 1000));
}
