import { Agent, request } from 'node:http';

/** One GET on a keep-alive agent: its status and latency in ms. */
export function get(agent: Agent, url: string, headers: Record<string, string>): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export type Target = { url: () => string; headers: () => Record<string, string> };

/** Closed loop: `concurrency` clients back to back for `seconds`; the most the target can do. */
export async function closedLoop(target: Target, concurrency: number, seconds: number): Promise<{ count: number; errors: number; perSecond: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const until = performance.now() + seconds * 1000;
  let count = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const { status } = await get(agent, target.url(), target.headers()).catch(() => ({ status: 0 }));
        if (status === 200) count++;
        else errors++;
      }
    }),
  );
  agent.destroy();
  return { count, errors, perSecond: Math.round((count * 1000) / (performance.now() - started)) };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/**
 * Open loop: requests start on a fixed schedule whatever the answers do, and latency counts from
 * the scheduled start, so a stall shows in the tail instead of hiding (no coordinated omission).
 */
export async function openLoop(target: Target, ratePerSecond: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = ratePerSecond * seconds;
  const latencies: number[] = [];
  let errors = 0;
  const origin = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = origin + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // From the schedule when sent late (no coordinated omission); from the send when up to 1 ms early.
    const from = Math.min(due, performance.now());
    inflight.push(
      get(agent, target.url(), target.headers()).then(
        ({ status }) => {
          if (status === 200) latencies.push(performance.now() - from);
          else errors++;
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { rate: ratePerSecond, sent: total, errors, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), p999: round(percentile(latencies, 99.9)) };
}
