import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const grouped = (n: number): string => Math.round(n).toLocaleString('en-GB');
export const rate = (rows: number, ms: number): number => Math.round((rows * 1000) / ms);

/** One printed row: label, seconds, rows/s, and the target when there is one. */
export function line(label: string, ms: number, rowsPerSecond: number, note = ''): string {
  return `  ${label.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${grouped(rowsPerSecond).padStart(9)} rows/s  ${note}`;
}

/** Writes bench/results/<name>-<timestamp>.json (git-ignored) and returns its path. */
export async function writeResult(name: string, result: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
