import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import type { Acknowledgement } from '../src/domain/acknowledgement.ts';
import { syntheticRecords } from '../src/cli/synthetic-register.ts';
import { loadOrCreateDevKey, mintDevToken } from '../adapters/auth/dev-keys.ts';
import { CONTENT_TYPES, uploadBody, type UploadForm } from './support/bodies.ts';
import { spawnService, type ChildService } from './support/child-service.ts';
import { copyBaseline } from './support/copy-baseline.ts';
import { postStream, setUpLa } from './support/http.ts';
import { openBenchPostgres } from './support/postgres.ts';
import { line, rate, RESULTS_DIR, writeResult } from './support/report.ts';
import { integerOption, parseOptions, UsageError } from './support/usage.ts';

const USAGE = 'usage: npm run bench -- upload [--records 250000] [--forms ndjson,json,csv] [--seed 1] [--cpu-prof]';
// The issue's aims; printed beside the measurements, never used to fail the run.
const TARGET_ROWS_PER_SECOND = 25_000;
const TARGET_RATIO_TO_COPY = 0.35;

type FormResult = {
  form: UploadForm; laCode: string; ms: number; rowsPerSecond: number; status: number;
  /** Until the service had read the body (to within socket buffers: it reads only as fast as it validates and stages), then to the ack. */
  phasesMs: { streaming: number; afterBody: number } | undefined;
  ack: Pick<Acknowledgement, 'result' | 'processed' | 'loaded' | 'rejected'> | undefined;
  memoryMiB: { rssBefore: number; rssAfter: number; peak: number; peakResetWorked: boolean; sampledPeakRss: number };
};

function options(args: string[]) {
  const v = parseOptions(args, {
    records: { type: 'string', default: '250000' },
    forms: { type: 'string', default: 'ndjson,json,csv' },
    seed: { type: 'string', default: '1' },
    'cpu-prof': { type: 'boolean', default: false },
  }, USAGE);
  const forms = (v.forms as string).split(',').map((f) => f.trim()).filter(Boolean);
  for (const f of forms) if (!(f in CONTENT_TYPES)) throw new UsageError(`unknown form ${f}`, USAGE);
  if (forms[0] !== 'ndjson') throw new UsageError('--forms must start with ndjson, the form compared with COPY', USAGE);
  return {
    records: integerOption(v.records as string, 'records', 1, 900_000, USAGE),
    forms: [...new Set(forms)] as UploadForm[],
    seed: integerOption(v.seed as string, 'seed', 0, 2 ** 31, USAGE),
    cpuProf: v['cpu-prof'] === true,
  };
}

/** One batch of every record in one request, timed from the first byte sent to the acknowledgement. */
async function uploadOnce(child: ChildService, token: string, form: UploadForm, laCode: string, records: number, seed: number): Promise<FormResult> {
  const peakResetWorked = await child.resetPeak();
  const before = await child.memory();
  let sampledPeakRss = before.rssMiB;
  const sampler = setInterval(() => void child.memory().then((m) => (sampledPeakRss = Math.max(sampledPeakRss, m.rssMiB)), () => undefined), 100);
  const body = uploadBody(form, syntheticRecords({ laIndex: 0, count: records, seed }), 1);
  const headers = { authorization: `Bearer ${token}`, 'content-type': CONTENT_TYPES[form], 'x-sequence-number': '1' };
  const started = performance.now();
  const reply = await postStream(`${child.url}/la/v1/uploads`, headers, body).finally(() => clearInterval(sampler));
  const ms = performance.now() - started;
  const after = await child.memory();
  let ack: Acknowledgement | undefined;
  try {
    ack = JSON.parse(reply.body) as Acknowledgement;
  } catch {
    ack = undefined;
  }
  return {
    form, laCode, ms: Math.round(ms), rowsPerSecond: rate(records, ms), status: reply.status,
    phasesMs: reply.sentAt === undefined ? undefined : { streaming: Math.round(reply.sentAt - started), afterBody: Math.round(started + ms - reply.sentAt) },
    ack: ack?.result ? { result: ack.result, processed: ack.processed, loaded: ack.loaded, rejected: ack.rejected } : undefined,
    memoryMiB: { rssBefore: Math.round(before.rssMiB), rssAfter: Math.round(after.rssMiB), peak: Math.round(after.hwmMiB), peakResetWorked, sampledPeakRss: Math.round(Math.max(sampledPeakRss, after.rssMiB)) },
  };
}

/** Runs the upload benchmark: the service and a plain COPY, side by side on one PostgreSQL. */
export async function run(args: string[]): Promise<void> {
  const opts = options(args);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const postgres = await openBenchPostgres();
    cleanups.push(() => postgres.close());
    const serviceDb = await postgres.createDatabase('bench_service');
    const copyDb = await postgres.createDatabase('bench_copy');
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-bench-svc-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

    const env = { DATABASE_URL: serviceDb, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', NODE_ENV: 'development', AUTH_MODE: 'dev', PDS_MODE: 'off' };
    const config = loadConfig({ ...process.env, ...env });
    // Made before the child starts, so the child verifies with the very key we sign with.
    const key = await loadOrCreateDevKey(dataDir);
    const nodeArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RESULTS_DIR, 'profiles')}`] : [];
    const child = await spawnService(env, nodeArgs);
    cleanups.push(() => child.stop());
    const token = async (laCode: string) => {
      const minted = await mintDevToken(key, { sub: 'bench-upload', role: 'la-system', org: laCode, name: 'Upload benchmark', org_name: `${laCode} Council` },
        { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3600 });
      await setUpLa(child.url, minted, `${laCode} Council`);
      return minted;
    };

    // How fast this process alone can produce the body: the ceiling on anything measured below.
    const genStarted = performance.now();
    for (const _chunk of uploadBody('ndjson', syntheticRecords({ laIndex: 0, count: opts.records, seed: opts.seed }), 1)) void _chunk;
    const generationMs = performance.now() - genStarted;

    const results: FormResult[] = [];
    const ndjsonLa = 'BENCHNDJSON';
    results.push(await uploadOnce(child, await token(ndjsonLa), 'ndjson', ndjsonLa, opts.records, opts.seed));
    const copy = await copyBaseline(copyDb, 'BENCHCOPY', syntheticRecords({ laIndex: 0, count: opts.records, seed: opts.seed }));
    for (const form of opts.forms.slice(1)) {
      const laCode = `BENCH${form.toUpperCase()}`;
      results.push(await uploadOnce(child, await token(laCode), form, laCode, opts.records, opts.seed));
    }

    const main = results[0] as FormResult;
    const copyRate = rate(copy.rows, copy.ms);
    const ratio = main.rowsPerSecond / copyRate;
    const failures = results.filter((r) => r.status !== 201 || r.ack?.result !== 'CPF02' || r.ack.loaded !== opts.records)
      .map((r) => `${r.form}: HTTP ${r.status}, ${r.ack ? `${r.ack.result} loaded ${r.ack.loaded}/${opts.records}` : 'no acknowledgement'}`);
    if (copy.rows !== opts.records) failures.push(`COPY baseline loaded ${copy.rows}/${opts.records}`);

    const result = {
      benchmark: 'upload', at: new Date().toISOString(), records: opts.records, seed: opts.seed,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      postgres: { kind: postgres.kind, version: postgres.serverVersion },
      targets: { rowsPerSecond: TARGET_ROWS_PER_SECOND, ratioToCopy: TARGET_RATIO_TO_COPY },
      service: { rowsPerSecond: main.rowsPerSecond, ms: Math.round(main.ms), peakMemoryMiB: main.memoryMiB.peak, rssBeforeMiB: main.memoryMiB.rssBefore },
      copy: { rowsPerSecond: copyRate, ms: Math.round(copy.ms), rows: copy.rows },
      ratioToCopy: Number(ratio.toFixed(3)), generationMs: Math.round(generationMs), forms: results, failures,
    };
    const file = await writeResult('upload', result);

    const ok = (met: boolean) => (met ? 'met' : 'NOT met');
    console.log(`upload benchmark: ${opts.records.toLocaleString('en-GB')} records in one request; PostgreSQL ${postgres.serverVersion} (${postgres.kind}); ${cpus().length} CPUs; Node ${process.version}`);
    console.log(line('body generation only', generationMs, rate(opts.records, generationMs), '(this process, no I/O)'));
    for (const r of results) {
      const m = r.memoryMiB;
      const target = r.form === 'ndjson' ? `target ≥ ${TARGET_ROWS_PER_SECOND.toLocaleString('en-GB')} (${ok(r.rowsPerSecond >= TARGET_ROWS_PER_SECOND)}); ` : '';
      console.log(line(`service ${r.form.toUpperCase()}`, r.ms, r.rowsPerSecond, `${target}${r.ack?.result ?? `HTTP ${r.status}`} loaded ${r.ack?.loaded ?? 0}`));
      const phases = r.phasesMs ? `body read in ${(r.phasesMs.streaming / 1000).toFixed(2)} s, then ${(r.phasesMs.afterBody / 1000).toFixed(2)} s to the ack; ` : '';
      console.log(`  ${''.padEnd(22)} ${phases}RSS ${m.rssBefore.toFixed(0)} MiB before, peak ${m.peak.toFixed(0)} MiB${m.peakResetWorked ? '' : ' (since start)'}`);
      if (r.form === 'ndjson') console.log(line('COPY baseline', copy.ms, copyRate, `plain COPY into plans`));
    }
    console.log(`  service / COPY         ${ratio.toFixed(2)}×  target ≥ ${TARGET_RATIO_TO_COPY}× (${ok(ratio >= TARGET_RATIO_TO_COPY)})`);
    console.log(`results: ${path.relative(process.cwd(), file)}${opts.cpuProf ? `; CPU profile: ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'profiles'))}/ after the service stops` : ''}`);
    if (failures.length) throw new Error(`the run did not load every record:\n  ${failures.join('\n  ')}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
  }
}
