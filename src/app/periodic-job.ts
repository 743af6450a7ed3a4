import { setTimeout as sleep } from 'node:timers/promises';

/** A background job running in this instance until stopped. */
export type PeriodicJob = { stop(): Promise<void> };

/**
 * Runs `run` again and again: at once while it reports more work, else after `idleMs`. A failed pass
 * is reported and the job carries on. stop() aborts the signal the pass is given and resolves once it has ended.
 */
export function startPeriodicJob(options: { run: (signal: AbortSignal) => Promise<{ more: boolean }>; idleMs: number; onError: (error: unknown) => void }): PeriodicJob {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      let more = false;
      try {
        more = (await options.run(stopping.signal)).more;
      } catch (error) {
        options.onError(error);
      }
      if (more || stopping.signal.aborted) continue;
      await sleep(options.idleMs, undefined, { signal: stopping.signal, ref: false }).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}
