import type { RecordRejection } from '../domain/acknowledgement.ts';
import type { Plan } from '../domain/plan.ts';
import type { BatchSession } from '../ports.ts';
import type { DemographicsVerifier } from './verify-demographics.ts';

// Records wait in chunks so that PDS lookups run concurrently without holding a whole batch in memory.
const CHUNK = 200;

/** Where a batch's valid plans go: straight into the session, or first through the PDS cross-check. */
export type Staging = { add(index: number, plan: Plan): Promise<void>; flush(): Promise<void> };

/**
 * Stages plans into a batch session; with a verifier, only those PDS confirms (recorded as verified at
 * `now()` of its answer), the others going to `reject`.
 */
export function createStaging(
  session: Pick<BatchSession, 'stage'>,
  reject: (rejection: RecordRejection, nhsNumber: string) => Promise<void>,
  verify: DemographicsVerifier | undefined,
  now: () => Date,
): Staging {
  const pending: { index: number; plan: Plan }[] = [];
  const flush = async () => {
    if (!verify || pending.length === 0) return;
    const chunk = pending.splice(0);
    const checks = await verify(chunk.map((p) => p.plan));
    const verifiedAt = now();
    for (const [i, { index, plan }] of chunk.entries()) {
      const check = checks[i];
      if (check?.ok) await session.stage(index, plan, verifiedAt);
      else if (check) await reject({ index, result: check.result, detail: check.detail }, plan.nhsNumber);
    }
  };
  return {
    async add(index, plan) {
      // A delete date removes what is already held: there is nothing to verify.
      if (!verify || plan.deleteDate !== null) return session.stage(index, plan, null);
      pending.push({ index, plan });
      if (pending.length >= CHUNK) await flush();
    },
    flush,
  };
}
