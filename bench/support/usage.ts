import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line arguments: bench/run.ts prints the message and usage, and exits 2. */
export class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

/** parseArgs that reports problems as a UsageError. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/** A whole number within bounds, or a UsageError. */
export function integerOption(value: string | undefined, name: string, min: number, max: number, usage: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`, usage);
  return n;
}
