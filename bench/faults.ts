import { cpus } from 'node:os';
import { laCodeOf, ndjsonChunks, nhsNumberOf, syntheticRecords } from '../src/cli/synthetic-register.ts';
import { sampleConnections, type ConnectionPeak } from './support/connection-sampler.ts';
import { CONNECTION_CEILING, POOLS, startFaultCluster, type FaultCluster, type Instance } from './support/fault-cluster.ts';
import { printSummary, type FaultsResult, type LoopResult } from './support/faults-report.ts';
import { postStream, setUpLa } from './support/http.ts';
import { openLoop, type Target } from './support/load.ts';
import { runOutage, type OutageResult } from './support/outage.ts';
import { timedGet } from './support/probe.ts';
import { writeResult } from './support/report.ts';
import { SLOW_UPLOADS, startUploadAbuse, type AbuseResult } from './support/upload-abuse.ts';
import { integerOption, parseOptions, UsageError } from './support/usage.ts';

const USAGE = 'usage: npm run bench -- faults [--outages 2,10,30] [--seconds 8] [--rate 200]';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
// The children clinicians look up belong to one LA; the abuse comes from others, two fresh ones a
// round: one holding slow uploads, one sending the huge line (an LA's uploads run one at a time, so
// from the same LA the line would only get a 429).
const LOOKUP_LA = 0;
const FIRST_ABUSE_LA = 1;
// Quiet and abused phases alternate, and the best of each is compared: this machine's noise swings a
// single phase by more than the abuse does.
const ROUNDS = 2;
const CLINICIANS_PER_PHASE = 200;
const MIN_CHILDREN = 2_000;
const MAX_CHILDREN = 50_000;
const WARM_UP_SECONDS = 2;
const SAMPLE_EVERY_MS = 50;

function options(args: string[]) {
  const v = parseOptions(args, { outages: { type: 'string', default: '2,10,30' }, seconds: { type: 'string', default: '8' }, rate: { type: 'string', default: '200' } }, USAGE);
  const outages = (v.outages as string).split(',').map((s) => s.trim()).filter(Boolean).map((s) => integerOption(s, 'outages', 1, 600, USAGE));
  if (outages.length === 0) throw new UsageError('--outages needs at least one length in seconds, e.g. 2,10,30', USAGE);
  const seconds = integerOption(v.seconds as string, 'seconds', 1, 120, USAGE);
  const rate = integerOption(v.rate as string, 'rate', 1, 5_000, USAGE);
  // A child per lookup of a phase where the register allows: each lookup then takes the full durable path.
  return { outages, seconds, rate, children: Math.min(MAX_CHILDREN, Math.max(MIN_CHILDREN, rate * seconds)) };
}

type Options = ReturnType<typeof options>;

const careTeamUrl = (base: string, k: number) => `${base}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS}|${nhsNumberOf(LOOKUP_LA, k)}`)}`;
const ratio = (x: number, y: number) => Math.round((x / y) * 100) / 100;

const clinician = (cluster: FaultCluster, sub: string) =>
  cluster.mint({ sub, role: 'clinician', name: 'Bench Clinician', org: 'RBENCH', org_name: 'Bench ED', setting: 'emergency-department', activities: ['B0107'] });

async function seed(cluster: FaultCluster, children: number): Promise<void> {
  const la = laCodeOf(LOOKUP_LA);
  const token = await cluster.mint({ sub: 'bench-la-lookups', role: 'la-system', org: la, name: 'Bench LA system', org_name: `${la} Council` });
  await setUpLa(cluster.instances[0].service.url, token, `${la} Council`);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': '1' };
  const reply = await postStream(`${cluster.instances[0].service.url}/la/v1/uploads`, headers, ndjsonChunks(syntheticRecords({ laIndex: LOOKUP_LA, count: children, seed: 1 })));
  if (reply.status !== 201) throw new Error(`seeding ${la} answered ${reply.status}`);
}

/** Unscheduled lookups by a phase's own clinicians, so that no (clinician, child) pair repeats across phases. */
async function lookups(cluster: FaultCluster, phase: string, children: number): Promise<Target> {
  const tokens = await Promise.all(Array.from({ length: CLINICIANS_PER_PHASE }, (_, i) => clinician(cluster, `bench-dr-${phase}-${i}`)));
  const base = cluster.instances[0].service.url;
  let n = -1;
  return {
    url: () => careTeamUrl(base, ++n % children),
    headers: () => ({ authorization: `Bearer ${tokens[n % tokens.length]}`, IsUnscheduledAccessEvent: 'true' }),
  };
}

async function abusedPhase(cluster: FaultCluster, opts: Options, round: number, target: Target): Promise<{ underAbuse: LoopResult; abuse: AbuseResult }> {
  const mintLa = async (index: number, sub: string) => {
    const la = laCodeOf(index);
    const token = await cluster.mint({ sub, role: 'la-system', org: la, name: 'Bench abusive LA system', org_name: `${la} Council` });
    // Set up, so that what the abuse meets is the upload limits, not the refusal of an LA without phones.
    await setUpLa(cluster.instances[0].service.url, token, `${la} Council`);
    return token;
  };
  const slowLa = FIRST_ABUSE_LA + 2 * round;
  const [slowToken, lineToken] = await Promise.all([mintLa(slowLa, 'bench-la-slow'), mintLa(slowLa + 1, 'bench-la-line')]);
  const firstLines = [...syntheticRecords({ laIndex: slowLa, count: SLOW_UPLOADS, seed: 2 })].map((r) => JSON.stringify(r));
  const abuse = await startUploadAbuse(cluster.instances[0].service.url, { slow: slowToken, bigLine: lineToken }, firstLines);
  let underAbuse: LoopResult;
  let uploads: AbuseResult;
  try {
    underAbuse = await openLoop(target, opts.rate, opts.seconds);
  } finally {
    // The uploads are cut off whether or not the loop finished.
    uploads = await abuse.stop();
  }
  return { underAbuse, abuse: uploads };
}

async function latencyPhases(cluster: FaultCluster, opts: Options): Promise<FaultsResult['latency']> {
  // Unreported, so that the quiet phase is not the one that pays for a cold JIT and cold caches.
  await openLoop(await lookups(cluster, 'warm-up', opts.children), opts.rate, WARM_UP_SECONDS);
  const rounds: FaultsResult['latency']['rounds'] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const quiet = await openLoop(await lookups(cluster, `quiet-${round}`, opts.children), opts.rate, opts.seconds);
    rounds.push({ quiet, ...(await abusedPhase(cluster, opts, round, await lookups(cluster, `abuse-${round}`, opts.children))) });
  }
  const best = (pick: (r: (typeof rounds)[number]) => LoopResult, key: 'p50' | 'p99') => Math.min(...rounds.map((r) => pick(r)[key]));
  return {
    rounds,
    ratios: { p50: ratio(best((r) => r.underAbuse, 'p50'), best((r) => r.quiet, 'p50')), p99: ratio(best((r) => r.underAbuse, 'p99'), best((r) => r.quiet, 'p99')) },
  };
}

async function outageSequence(cluster: FaultCluster, opts: Options): Promise<Pick<FaultsResult, 'outages' | 'connections'>> {
  const token = await clinician(cluster, 'bench-dr-outage');
  let k = 0;
  const lookUp = (instance: Instance) => timedGet(careTeamUrl(instance.service.url, k++ % opts.children), { authorization: `Bearer ${token}`, IsUnscheduledAccessEvent: 'true' });
  const sampler = sampleConnections(cluster.instances.map((i) => i.service.pid), cluster.db.port, SAMPLE_EVERY_MS);
  let peaks: Map<number, ConnectionPeak>;
  const outages: OutageResult[] = [];
  try {
    for (const seconds of opts.outages) outages.push(await runOutage(cluster, seconds, lookUp));
  } finally {
    peaks = await sampler.stop();
  }
  const connections = cluster.instances.map((i) => ({ instance: i.name, ...(peaks.get(i.service.pid) ?? { peak: 0, samples: 0 }), ceiling: CONNECTION_CEILING }));
  return { outages, connections };
}

/** Runs the faults benchmark: PostgreSQL outages under two instances, then one LA's upload abuse beside quiet lookups. */
export async function run(args: string[]): Promise<void> {
  const opts = options(args);
  const cluster = await startFaultCluster();
  try {
    await seed(cluster, opts.children);
    const latency = await latencyPhases(cluster, opts);
    const { outages, connections } = await outageSequence(cluster, opts);
    const connectionsAtEnd = await cluster.db.connections().catch(() => null);
    const result: FaultsResult = {
      benchmark: 'faults', at: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version },
      postgres: { kind: 'embedded, restartable', version: cluster.serverVersion },
      options: opts, pools: POOLS, ceiling: CONNECTION_CEILING, outages, connections, connectionsAtEnd,
      logs: Object.fromEntries(cluster.instances.map((i) => [i.name, i.logs()])), latency,
    };
    printSummary(result);
    console.log(`\nresult: ${await writeResult('faults', result)}`);
  } finally {
    await cluster.close();
  }
}
