import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export type Memory = { rssMiB: number; hwmMiB: number };

/** One parsed pino line of the service's stdout. */
export type LogEntry = { msg?: unknown; level?: unknown; [field: string]: unknown };

export type SpawnOptions = {
  /** Sees every log line, from start-up to exit, for a benchmark that counts what the service said. */
  onLog?: (entry: LogEntry) => void;
};

/** The real service as a child process, as an operator would run it. */
export type ChildService = {
  url: string;
  pid: number;
  memory(): Promise<Memory>;
  resetPeak(): Promise<boolean>;
  stop(): Promise<number | null>;
};

const mib = (status: string, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;

/** Spawns `node src/main.ts` on PORT=0 and waits for the "listening" log line that carries its url. */
export async function spawnService(env: Record<string, string>, nodeArgs: string[] = [], options: SpawnOptions = {}): Promise<ChildService> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid as number;
  const recent: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Log lines are read to the end: an unread pipe would fill and stall the service mid-benchmark.
  const lines = createInterface({ input: child.stdout });
  createInterface({ input: child.stderr }).on('line', (line) => recent.push(line.slice(0, 300)));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not report listening within 60 s')), 60_000);
    lines.on('line', (line) => {
      recent.push(line.slice(0, 300));
      if (recent.length > 20) recent.shift();
      try {
        const entry = JSON.parse(line) as LogEntry & { url?: unknown };
        options.onLog?.(entry);
        if (typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // Not a log line of ours; kept in `recent` for the error message.
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with code ${code} before listening:\n${recent.join('\n')}`));
    });
  });
  const url = await listening.catch(async (error: unknown) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  });
  return {
    url,
    pid,
    memory: async () => {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      return { rssMiB: mib(status, 'VmRSS'), hwmMiB: mib(status, 'VmHWM') };
    },
    // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so each upload's peak is its own.
    resetPeak: () => writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
