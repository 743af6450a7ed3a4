import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultCluster, Instance } from './fault-cluster.ts';
import { msUntil200, steadyProbe, summarise, timedGet, type Answer } from './probe.ts';

// While PostgreSQL is down each instance gets a lookup this often: enough to see how answers are
// spread, few enough that the probe does not become a load test of its own.
const PROBE_EVERY_MS = 100;
const POLL_EVERY_MS = 50;
const RECOVERY_TIMEOUT_MS = 60_000;

/** The ms from PostgreSQL accepting connections again to an instance's first 200s; null: not within the timeout. */
export type Recovery = { instance: string; readyMs: number | null; lookupMs: number | null; statusesWhileRecovering: { ready: Record<string, number>; lookup: Record<string, number> } };

export type OutageResult = {
  seconds: number;
  /** How long PostgreSQL really was down: from its stop having completed to its accepting connections again. */
  downMs: number;
  duringOutage: ReturnType<typeof summarise> & { byInstance: Record<string, Record<string, number>> };
  recovery: Recovery[];
  /** The later instance's: when the pair as a whole was back. */
  bothReadyMs: number | null;
  bothLookupMs: number | null;
};

const later = (values: (number | null)[]) => (values.includes(null) ? null : Math.max(...(values as number[])));

/** A fresh unscheduled lookup on an instance, as the benchmark makes them. */
export type LookupOn = (instance: Instance) => Promise<Answer>;

async function recoveryOf(instance: Instance, lookUp: LookupOn, upAt: number): Promise<Recovery> {
  const statusesWhileRecovering = { ready: {}, lookup: {} };
  const [readyMs, lookupMs] = await Promise.all([
    msUntil200(() => timedGet(`${instance.service.url}/health/ready`), upAt, POLL_EVERY_MS, RECOVERY_TIMEOUT_MS, statusesWhileRecovering.ready),
    msUntil200(() => lookUp(instance), upAt, POLL_EVERY_MS, RECOVERY_TIMEOUT_MS, statusesWhileRecovering.lookup),
  ]);
  return { instance: instance.name, readyMs, lookupMs, statusesWhileRecovering };
}

/**
 * Stops PostgreSQL, keeps it down for `seconds` while both instances are asked for lookups, starts
 * it again, and times each instance's way back: ready, then a lookup that answers 200.
 */
export async function runOutage(cluster: FaultCluster, seconds: number, lookUp: LookupOn): Promise<OutageResult> {
  await cluster.db.stop();
  const downAt = performance.now();
  const tagged = cluster.instances.map((instance) => {
    const answers: Answer[] = [];
    const probe = steadyProbe(() => lookUp(instance).then((a) => (answers.push(a), a)), PROBE_EVERY_MS);
    return { instance, answers, probe };
  });
  await sleep(Math.max(0, downAt + seconds * 1000 - performance.now()));
  // Stop sending before the restart: every probe counted was sent while PostgreSQL was down.
  const inflight = tagged.map((t) => t.probe.stop());
  await cluster.db.start();
  const upAt = performance.now();
  const recovery = await Promise.all(cluster.instances.map((instance) => recoveryOf(instance, lookUp, upAt)));
  await Promise.all(inflight);
  const byInstance = Object.fromEntries(tagged.map((t) => [t.instance.name, summarise(t.answers).byStatus]));
  return {
    seconds,
    downMs: Math.round(upAt - downAt),
    duringOutage: { ...summarise(tagged.flatMap((t) => t.answers)), byInstance },
    recovery,
    bothReadyMs: later(recovery.map((r) => r.readyMs)),
    bothLookupMs: later(recovery.map((r) => r.lookupMs)),
  };
}
