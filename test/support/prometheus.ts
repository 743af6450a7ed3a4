import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

/** Debian's Prometheus and promtool; CI installs them (.ci/run). PROMETHEUS_DIR points elsewhere when needed. */
const BIN_DIR = process.env.PROMETHEUS_DIR ?? '/usr/bin';
export const PROMETHEUS_PATH = path.join(BIN_DIR, 'prometheus');
export const PROMTOOL_PATH = path.join(BIN_DIR, 'promtool');

/** Fails loudly when Prometheus is missing: a missing tool must never pass as a skipped test. */
function required(binary: string): string {
  if (!existsSync(binary))
    throw new Error(
      `${binary} is not installed. The alerting tests need Debian's prometheus package: run ` +
        '`apt-get update && apt-get install -y --no-install-recommends prometheus` (as .ci/run does), or set PROMETHEUS_DIR.',
    );
  return binary;
}

/** Runs promtool with the arguments given; resolves with its exit code and output, whatever the code. */
export async function promtool(args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(required(PROMTOOL_PATH), args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

export type PrometheusAlert = { labels: Record<string, string>; annotations: Record<string, string>; state: 'pending' | 'firing'; value: string };
export type RunningPrometheus = {
  url: string;
  output: string[];
  /** An instant query; the result vector, or the API's error. */
  query(expr: string): Promise<{ status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } }>;
  alerts(): Promise<PrometheusAlert[]>;
  /** When each rule group was last evaluated (unix seconds). */
  lastEvaluations(): Promise<number[]>;
  stop(): Promise<void>;
};

/** A loopback port that was free a moment ago (Prometheus takes its listen address as a flag). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * Starts a real Prometheus on a free loopback port, with a storage directory of its own, scraping
 * `targets` (job "cpis", as the shipped rules expect) every `intervalSeconds` and evaluating `ruleFiles`
 * as often; resolves once it says it is ready.
 */
export async function startPrometheus(options: { targets: string[]; ruleFiles: string[]; intervalSeconds: number }): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cpis-prometheus-'));
  const config = [
    'global:',
    `  scrape_interval: ${options.intervalSeconds}s`,
    `  evaluation_interval: ${options.intervalSeconds}s`,
    'rule_files:',
    ...options.ruleFiles.map((file) => `  - ${JSON.stringify(file)}`),
    'scrape_configs:',
    '  - job_name: cpis',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
  ].join('\n');
  await writeFile(path.join(dir, 'prometheus.yml'), `${config}\n`);
  const port = await freePort();
  const child = spawn(required(PROMETHEUS_PATH), [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(pathAndQuery: string): Promise<T> => (await (await fetch(`${url}${pathAndQuery}`)).json()) as T;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output.join('\n')}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${output.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    url,
    output,
    query: (expr) => api(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    alerts: async () => (await api<{ data: { alerts: PrometheusAlert[] } }>('/api/v1/alerts')).data.alerts,
    lastEvaluations: async () =>
      (await api<{ data: { groups: { lastEvaluation: string }[] } }>('/api/v1/rules')).data.groups.map((g) => new Date(g.lastEvaluation).getTime() / 1000),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      started.delete(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
