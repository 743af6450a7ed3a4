import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { laCodeOf, ndjsonChunks, nhsNumberOf, NUMBERS_PER_LA, syntheticRecords } from '../src/cli/synthetic-register.ts';
import { loadOrCreateDevKey, mintDevToken } from '../adapters/auth/dev-keys.ts';
import { spawnService } from './support/child-service.ts';
import { postStream, setUpLa } from './support/http.ts';
import { closedLoop, get, openLoop, type Target } from './support/load.ts';
import { openBenchPostgres } from './support/postgres.ts';
import { writeResult } from './support/report.ts';
import { integerOption, parseOptions, UsageError } from './support/usage.ts';

const USAGE = 'usage: npm run bench -- lookup [--seconds 10] [--concurrency 32] [--rate 500] [--children 2000] [--las 10] [--held 1000000] [--read-model on|off]';
const TARGET_UNSCHEDULED_PER_SECOND = 3_000;
const TARGET_P99_MS = 10;
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const BARE = fileURLToPath(new URL('./support/bare-server.ts', import.meta.url));

async function startBare(body: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [BARE], { env: { ...process.env, BARE_BODY: body }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await new Promise<string[]>((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve([l])));
  return { url: (JSON.parse(line as string) as { url: string }).url, stop: () => child.kill('SIGTERM') };
}

/** Uploads of plans nobody looks up, filling the rest of each LA index's 100,000 numbers, then round again. */
function backgroundUploads(plans: number, skip: number): { laIndex: number; start: number; count: number }[] {
  const uploads: { laIndex: number; start: number; count: number }[] = [];
  const perUpload = NUMBERS_PER_LA - skip;
  // LA indexes 0–8 have all 100,000 of their numbers in the 999 range.
  for (let left = plans, i = 0; left > 0; i++) {
    const count = Math.min(left, perUpload);
    uploads.push({ laIndex: i % 9, start: skip, count });
    left -= count;
  }
  return uploads;
}

export async function run(args: string[]): Promise<void> {
  const v = parseOptions(args, {
    seconds: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '32' }, rate: { type: 'string', default: '500' },
    children: { type: 'string', default: '2000' }, las: { type: 'string', default: '10' }, held: { type: 'string', default: '0' },
    'read-model': { type: 'string', default: 'on' },
  }, USAGE);
  const readModel = v['read-model'] as string;
  if (readModel !== 'on' && readModel !== 'off') throw new UsageError('--read-model is on or off', USAGE);
  const seconds = integerOption(v.seconds as string, 'seconds', 1, 300, USAGE);
  const concurrency = integerOption(v.concurrency as string, 'concurrency', 1, 512, USAGE);
  const ratePerSecond = integerOption(v.rate as string, 'rate', 1, 20_000, USAGE);
  const perLa = integerOption(v.children as string, 'children', 1, 50_000, USAGE);
  const las = integerOption(v.las as string, 'las', 1, 50, USAGE);
  const held = Math.max(las * perLa, integerOption(v.held as string, 'held', 0, 2_000_000, USAGE));
  // The 999 range holds about 908,000 valid NHS numbers, 100,000 to an LA: say so before seeding, not
  // as a broken upload half-way through.
  try {
    nhsNumberOf(las - 1, perLa - 1);
  } catch (error) {
    throw new Error(`--las ${las} × --children ${perLa} needs more synthetic NHS numbers than the 999 range has (${(error as Error).message})`, { cause: error });
  }

  const postgres = await openBenchPostgres();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-bench-lookup-'));
  const config = loadConfig({ DATA_DIR: dataDir });
  const key = await loadOrCreateDevKey(dataDir);
  const mint = (claims: Parameters<typeof mintDevToken>[1]) => mintDevToken(key, claims, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3600 });
  const service = await spawnService(
    {
      DATABASE_URL: await postgres.createDatabase('bench_lookup'), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', DB_POOL_SIZE: '20', RATE_LIMIT_PER_SECOND: '0',
      // off: every lookup reads the register from PostgreSQL, as before the read model.
      ...(readModel === 'off' ? { REGISTER_CACHE_ENTRIES: '0' } : {}),
    },
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  );
  try {
    for (let la = 0; la < las; la++) {
      const token = await mint({ sub: `bench-la-${la}`, role: 'la-system', org: laCodeOf(la) });
      await setUpLa(service.url, token, `${laCodeOf(la)} Council`);
      const body = ndjsonChunks(syntheticRecords({ laIndex: la, count: perLa, seed: 1 }));
      const reply = await postStream(`${service.url}/la/v1/uploads`, { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' }, body);
      if (reply.status !== 201) throw new Error(`seeding ${laCodeOf(la)} answered ${reply.status}`);
    }
    // Plans held beyond the ones looked up (--held): other LAs' plans for children never looked up, so
    // every lookup finds and notifies exactly what it does at the default size. The 999 range has
    // about 908,000 NHS numbers, so past that a child holds plans with two LAs, as a child who moved may.
    const background = backgroundUploads(held - las * perLa, perLa);
    for (const [b, upload] of background.entries()) {
      const laCode = `BGLA${String(b).padStart(2, '0')}`;
      const token = await mint({ sub: `bench-bg-${b}`, role: 'la-system', org: laCode });
      await setUpLa(service.url, token, `${laCode} Council`);
      const body = ndjsonChunks(syntheticRecords({ laIndex: upload.laIndex, start: upload.start, count: upload.count, seed: 2 }));
      const reply = await postStream(`${service.url}/la/v1/uploads`, { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' }, body);
      if (reply.status !== 201) throw new Error(`seeding ${laCode} answered ${reply.status}`);
    }
    // Many clinicians, so that (user, child) pairs rarely repeat: each lookup takes the full durable path.
    const clinicians = await Promise.all(Array.from({ length: 500 }, (_, i) =>
      mint({ sub: `bench-dr-${i}`, role: 'clinician', org: 'RBENCH', org_name: 'Bench ED', setting: 'emergency-department', activities: ['B0107', 'B0170'] })));
    let n = 0;
    // hotLa: every lookup on the first LA's children, so one LA's event counter takes every notification.
    const lookup = (silent: boolean, hotLa = false): Target => ({
      url: () => {
        n++;
        const la = hotLa ? 0 : n % las;
        const child = hotLa ? n % perLa : Math.floor(n / las) % perLa;
        return `${service.url}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS}|${nhsNumberOf(la, child)}`)}`;
      },
      headers: () => ({ authorization: `Bearer ${clinicians[n % clinicians.length]}`, IsUnscheduledAccessEvent: String(!silent) }),
    });
    const sample = await get(new (await import('node:http')).Agent(), lookup(true).url(), lookup(true).headers());
    const bare = await startBare(sample.body);
    try {
      const bareTarget: Target = { url: () => `${bare.url}/`, headers: () => ({}) };
      console.log(`lookup benchmark: ${las} LAs × ${perLa} children, ${seconds} s per phase, ${cpus().length} cores, PostgreSQL ${postgres.kind} ${postgres.serverVersion}, read model ${readModel}`);
      // Every child read once first (silent), so that every phase meets the same warm register: PostgreSQL's
      // buffers and, when on, the read model. Otherwise the first phase alone would pay for first reads.
      const warmUp = lookup(true);
      let warmed = 0;
      const warm = { url: () => (warmed++, warmUp.url()), headers: warmUp.headers };
      while (warmed < las * perLa) await closedLoop(warm, concurrency, 1);
      const throughput = {
        unscheduled: await closedLoop(lookup(false), concurrency, seconds),
        unscheduledOneLa: await closedLoop(lookup(false, true), concurrency, seconds),
        silent: await closedLoop(lookup(true), concurrency, seconds),
        bare: await closedLoop(bareTarget, concurrency, seconds),
      };
      const latency = {
        unscheduled: await openLoop(lookup(false), ratePerSecond, seconds),
        silent: await openLoop(lookup(true), ratePerSecond, seconds),
        bare: await openLoop(bareTarget, ratePerSecond, seconds),
      };
      const ratio = (x: number) => Math.round((x / throughput.bare.perSecond) * 1000) / 1000;
      console.log(`\nthroughput (closed loop, ${concurrency} clients)        ratio to bare node:http`);
      for (const [name, r] of Object.entries(throughput)) console.log(`  ${name.padEnd(16)} ${String(r.perSecond).padStart(7)} /s  errors ${r.errors}   ${ratio(r.perSecond)}`);
      console.log(`  target: ≥ ${TARGET_UNSCHEDULED_PER_SECOND} unscheduled lookups/s`);
      const hot = Math.round((throughput.unscheduledOneLa.perSecond / throughput.unscheduled.perSecond) * 100) / 100;
      console.log(`  all lookups on one LA (one hot event counter): ${hot}× the ${las}-LA figure (aim ≥ 0.5)`);
      console.log(`\nlatency at a fixed ${ratePerSecond}/s (open loop), ms`);
      for (const [name, r] of Object.entries(latency)) console.log(`  ${name.padEnd(12)} p50 ${r.p50}  p99 ${r.p99}  p99.9 ${r.p999}  errors ${r.errors}`);
      console.log(`  target: p99 ≤ ${TARGET_P99_MS} ms for unscheduled lookups`);
      const memory = await service.memory();
      console.log(`\n${held} plans held (${las * perLa} of them looked up); service RSS ${Math.round(memory.rssMiB)} MiB, peak ${Math.round(memory.hwmMiB)} MiB (aim ≤ 600 MiB at 1,000,000 plans)`);
      if (held === las * perLa) console.log('  for the flatness check, run again with --held 1000000 and compare the open-loop p50s (aim: within 20 %)');
      const file = await writeResult('lookup', {
        benchmark: 'lookup', at: new Date().toISOString(), las, perLa, seconds, concurrency, responseBytes: sample.body.length,
        postgres: { kind: postgres.kind, version: postgres.serverVersion }, readModel, throughput, latency,
        ratiosToBare: { unscheduled: ratio(throughput.unscheduled.perSecond), silent: ratio(throughput.silent.perSecond) },
        oneLaToAllLas: hot,
        plansHeld: held, plansLookedUp: las * perLa, memoryMiB: { rss: Math.round(memory.rssMiB), peak: Math.round(memory.hwmMiB) },
        targets: { unscheduledPerSecond: TARGET_UNSCHEDULED_PER_SECOND, p99Ms: TARGET_P99_MS },
      });
      console.log(`\nresult: ${file}`);
    } finally {
      bare.stop();
    }
  } finally {
    await service.stop();
    await postgres.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
