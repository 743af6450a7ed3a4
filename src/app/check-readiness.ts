import type { ReadinessProbe } from '../ports.ts';

/** Each check by name, and whether every one passed. */
export type Readiness = { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };

/** Whether this instance can serve: not draining, and every probe's checks pass (GET /health/ready, and the cpis_ready gauge). */
export function createCheckReadiness(deps: { probes: readonly ReadinessProbe[]; isDraining: () => boolean }) {
  return async function checkReadiness(): Promise<Readiness> {
    const results = await Promise.all(deps.probes.map((probe) => probe.check()));
    const checks = Object.assign({ draining: { ok: !deps.isDraining() } }, ...results) as Readiness['checks'];
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
}
