import { setTimeout as sleep } from 'node:timers/promises';

/** One answer as a client saw it; status 0 when there was none (refused, reset or timed out). */
export type Answer = { status: number; ms: number; retryAfter: boolean };

// Longer than any wait the service should impose (DB_ACQUIRE_TIMEOUT_MS is 2 s): a hang shows as status 0.
const ANSWER_TIMEOUT_MS = 10_000;

/** A GET timed to the end of its body, never throwing: how a caller experiences the service in a fault. */
export async function timedGet(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started, retryAfter: res.headers.has('retry-after') };
  } catch {
    return { status: 0, ms: performance.now() - started, retryAfter: false };
  }
}

/**
 * Calls `attempt` every `everyMs` (after each answer) until it answers 200, and returns the ms from
 * `origin` to that answer, or null if none came within `timeoutMs`. Every status seen is tallied.
 */
export async function msUntil200(attempt: () => Promise<Answer>, origin: number, everyMs: number, timeoutMs: number, seen: Record<string, number>): Promise<number | null> {
  for (;;) {
    const { status } = await attempt();
    seen[status] = (seen[status] ?? 0) + 1;
    if (status === 200) return Math.round(performance.now() - origin);
    if (performance.now() - origin > timeoutMs) return null;
    await sleep(everyMs);
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number) => Math.round(n * 100) / 100;

/** Answers summarised: count by status, how many carried Retry-After, latency p50/p99/max over all of them. */
export function summarise(answers: Answer[]) {
  const byStatus: Record<string, number> = {};
  for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  const sorted = answers.map((a) => a.ms).sort((x, y) => x - y);
  return {
    sent: answers.length, byStatus, withRetryAfter: answers.filter((a) => a.retryAfter).length,
    p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN),
  };
}

/**
 * Fires `send()` every `everyMs` on a fixed schedule, whatever the answers do, until stop() is
 * called; stop() resolves with every answer once the last in flight is back.
 */
export function steadyProbe(send: () => Promise<Answer>, everyMs: number): { stop(): Promise<Answer[]> } {
  const inflight: Promise<Answer>[] = [];
  const timer = setInterval(() => inflight.push(send()), everyMs);
  inflight.push(send());
  return {
    async stop() {
      clearInterval(timer);
      return Promise.all(inflight);
    },
  };
}
