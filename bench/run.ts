import { readdirSync } from 'node:fs';
import { UsageError } from './support/usage.ts';

/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts, which exports run(args). A new
 * benchmark (lookup, alerts…) is one more file beside this one; nothing here needs to change.
 */
const here = new URL('./', import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const usage = `usage: npm run bench -- <${available.join('|')}> [options]\n  e.g. npm run bench -- upload --records 250000`;

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(name && name !== '--help' ? `unknown benchmark: ${name}\n${usage}` : usage);
  process.exit(2);
}

type Benchmark = { run(args: string[]): Promise<void> };
try {
  const bench = (await import(new URL(`${name}.ts`, here).href)) as Benchmark;
  await bench.run(args);
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${error.usage}`);
    process.exit(2);
  }
  console.error(`benchmark ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
}
