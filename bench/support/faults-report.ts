import type { openLoop } from './load.ts';
import type { LogCounts } from './log-tally.ts';
import type { OutageResult } from './outage.ts';
import { BIG_LINE_MIB, SLOW_UPLOADS, type AbuseResult } from './upload-abuse.ts';

export type LoopResult = Awaited<ReturnType<typeof openLoop>>;

export type FaultsResult = {
  benchmark: 'faults';
  at: string;
  machine: { cpus: number; node: string };
  postgres: { kind: 'embedded, restartable'; version: string };
  options: { outages: number[]; seconds: number; rate: number; children: number };
  pools: Record<string, number>;
  ceiling: number;
  outages: OutageResult[];
  connections: { instance: string; peak: number; samples: number; ceiling: number }[];
  /** pg_stat_activity after the last outage, by application_name; null if it could not be read. */
  connectionsAtEnd: Record<string, number> | null;
  logs: Record<string, LogCounts>;
  /** Quiet and abused phases, alternating; the ratios compare the best of each. */
  latency: { rounds: { quiet: LoopResult; underAbuse: LoopResult; abuse: AbuseResult }[]; ratios: { p50: number; p99: number } };
};

const statuses = (byStatus: Record<string, number>) =>
  Object.entries(byStatus).map(([status, n]) => `${status === '0' ? 'no answer' : status}×${n}`).join(', ') || 'none';
const ms = (value: number | null) => (value === null ? '>60 s' : String(value)).padStart(8);
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const perInstance = (r: FaultsResult, pick: (c: LogCounts) => number) => Object.entries(r.logs).map(([name, c]) => `${name} ${pick(c)}`).join(', ');

function printOutages(r: FaultsResult): void {
  console.log('\nPostgreSQL outages, back to back; recovery in ms from PostgreSQL accepting connections again (polled every 50 ms)');
  console.log('                   ready (200)                lookup (200)');
  console.log('  outage    down       A       B    both        A       B    both   lookups while down (every 100 ms per instance)  p50 ms  p99 ms');
  for (const o of r.outages) {
    const [a, b] = o.recovery;
    const d = o.duringOutage;
    const ready = [a?.readyMs ?? null, b?.readyMs ?? null, o.bothReadyMs].map(ms).join('');
    const lookup = [a?.lookupMs ?? null, b?.lookupMs ?? null, o.bothLookupMs].map(ms).join('');
    const answers = `${d.sent}: ${statuses(d.byStatus)}; Retry-After on ${d.withRetryAfter}`;
    console.log(`  ${`${o.seconds} s`.padStart(6)} ${`${(o.downMs / 1000).toFixed(1)} s`.padStart(7)}${ready} ${lookup}   ${answers.padEnd(46)} ${String(d.p50).padStart(7)} ${String(d.p99).padStart(7)}`);
  }
  for (const o of r.outages) {
    for (const rec of o.recovery) {
      const seen = { ...rec.statusesWhileRecovering.lookup };
      delete seen['200'];
      if (sum(seen) > 0) console.log(`  after the ${o.seconds} s outage, ${rec.instance}'s lookups answered ${statuses(seen)} before the first 200`);
    }
  }
}

function printConnections(r: FaultsResult): void {
  const peaks = r.connections.map((c) => `${c.instance} peak ${c.peak}${c.peak > c.ceiling ? ' (ABOVE the ceiling)' : ''}`).join(', ');
  console.log(`\nTCP connections to PostgreSQL during the outages (as the kernel sees them, every 50 ms): ${peaks}; ceiling ${r.ceiling} each`);
  const atEnd = r.connectionsAtEnd ? Object.entries(r.connectionsAtEnd).map(([name, n]) => `${name || '(unnamed)'} ${n}`).join(', ') : 'could not be read';
  console.log(`  after the last outage, by application_name: ${atEnd}`);
  console.log(`  'listener reconnect failed' log lines: ${perInstance(r, (c) => c.listenerReconnectFailed)}; 'listener reconnected': ${perInstance(r, (c) => c.listenerReconnected)}`);
}

function printLatency(r: FaultsResult): void {
  const { rounds, ratios } = r.latency;
  console.log(`\nunscheduled CareTeam lookups on A at ${r.options.rate}/s for ${r.options.seconds} s (open loop), ms; quiet and abused phases alternate`);
  for (const [i, { quiet, underAbuse, abuse }] of rounds.entries()) {
    for (const [name, l] of [[`quiet ${i + 1}`, quiet], [`upload abuse ${i + 1}`, underAbuse]] as const) {
      console.log(`  ${name.padEnd(15)} p50 ${l.p50}  p99 ${l.p99}  p99.9 ${l.p999}  errors ${l.errors}/${l.sent}`);
    }
    const big = abuse.bigLine;
    const ack = big.result ? ` (${big.result}, processed ${big.processed}, rejected ${big.rejected})` : '';
    console.log(`    one LA: ${SLOW_UPLOADS} slow uploads → ${statuses(abuse.slowUploads)}`);
    console.log(`    another: one ${BIG_LINE_MIB} MiB line → ${big.status}${ack} after ${(big.ms / 1000).toFixed(1)} s, body sent in full: ${big.bodySent ? 'yes' : 'no'}`);
  }
  console.log(`  abuse / quiet (best of each)  p50 ${ratios.p50}×  p99 ${ratios.p99}×`);
}

function printLogs(r: FaultsResult): void {
  console.log('\nservice logs');
  for (const [name, c] of Object.entries(r.logs)) {
    const list = (counts: Record<string, number>) => Object.entries(counts).map(([label, n]) => `'${label}' ×${n}`).join(', ') || 'none';
    console.log(`  ${name}: answers 500: ${c.status500}; error lines: ${list(c.errors)}`);
    console.log(`     warnings: ${list(c.warnings)}`);
  }
}

/** The human summary; the JSON file holds everything, this the part worth reading. */
export function printSummary(r: FaultsResult): void {
  const pools = Object.values(r.pools).join(' + ');
  console.log(`faults benchmark: two instances on one PostgreSQL ${r.postgres.version} (${r.postgres.kind}); pools ${pools} + 1 LISTEN = ceiling ${r.ceiling} connections per instance; ${r.machine.cpus} CPUs; Node ${r.machine.node}`);
  console.log('(run order: seed, then quiet and abused lookups alternating, then the outages; all on instance A but the outages, which hit both)');
  printOutages(r);
  printConnections(r);
  printLatency(r);
  printLogs(r);
}
