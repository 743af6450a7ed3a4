import { ConfigError } from '../config.ts';
import { errorForLog } from '../logger.ts';
import { StartupRefusal } from '../startup-refusal.ts';

/** sysexits(3) codes the operators' tools share, so a script can tell a wrong call from a database it cannot use. */
export const EXIT = { usage: 64, noSuchLa: 65, unavailable: 69, software: 70, config: 78 } as const;

/** A failure the tool explains in one line on stderr, with its exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs an operator's tool: its exit code is what `main` returns (0 if nothing), or the one its failure
 * stands for, explained in one line on the operator's terminal (stderr). The lines are CliError,
 * config and start-up refusal messages, which the tools word without patient data; any other error is reported the way
 * logs report it (errorForLog), never with a database error's text.
 */
export async function runCli(main: () => Promise<number | void>, options: { failure: string; failureCode: number }): Promise<void> {
  try {
    process.exitCode = (await main()) ?? 0;
  } catch (error) {
    const [message, code] =
      error instanceof CliError ? [error.message, error.exitCode]
      : error instanceof ConfigError ? [error.message, EXIT.config]
      // A tool that starts the service in-process (npm run seed) gives up as the service would.
      : error instanceof StartupRefusal ? [error.message, error.exitCode]
      : [`${options.failure}: ${errorForLog(error).message}`, options.failureCode];
    process.stderr.write(`${message}\n`);
    process.exitCode = code;
  }
}
