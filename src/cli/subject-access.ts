import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { openCliDatabase } from './database.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { createLogger } from '../logger.ts';
import { composeSubjectAccess } from '../compose.ts';
import { IncompleteExportError, NHS_NUMBER_RULES } from '../app/export-subject-access.ts';
import { checkNhsNumber } from '../domain/nhs-number.ts';
import { pendingMigrations } from '../../adapters/postgres/migrate.ts';

const USAGE = `usage: npm run --silent subject-access -- <nhs-number> [--operator <id>]

Writes everything the service holds about one person to stdout as JSON, and records the export
in the audit trail under the operator's id (default: the OS user name). Spaces and dashes in the
NHS number are accepted. Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR, whether
or not the service is running.`;

const FAILURE = 1;

function parse(): { nhsNumber: string; operator: string } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ options: { operator: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage);
  }
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length === 0) throw new CliError(USAGE, EXIT.usage);
  // `999 000 0018` unquoted arrives as three arguments. The input is never echoed back.
  const nhsNumber = parsed.positionals.join(' ');
  const checked = checkNhsNumber(nhsNumber);
  if (!checked.ok) throw new CliError(`invalid NHS number: ${NHS_NUMBER_RULES[checked.reason]}`, EXIT.usage);
  const operator = (parsed.values.operator ?? osUser()).trim();
  if (!/^[^\p{Cc}]{1,200}$/u.test(operator)) throw new CliError(`--operator must be 1 to 200 printable characters\n${USAGE}`, EXIT.usage);
  return { nhsNumber: checked.value, operator };
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

async function main(): Promise<void> {
  const args = parse();
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  // Only the embedded server's own events reach stderr; nothing about the person is ever logged.
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', pino.destination(2));
  const { pool, close } = await openCliDatabase(config, logger, {
    applicationName: 'cpis-subject-access',
    check: async (db) => {
      const pending = await pendingMigrations(db);
      if (pending.length > 0)
        throw new CliError(`the database lacks migrations ${pending.join(', ')}: start the service once (npm start) to apply them, then run this again`, EXIT.unavailable);
    },
  });
  try {
    const outcome = await composeSubjectAccess(pool)(args);
    if (!outcome.ok) throw new CliError(`invalid NHS number: ${outcome.rule}`, EXIT.usage);
    process.stdout.write(`${JSON.stringify(outcome.export, null, 2)}\n`);
  } finally {
    await close();
  }
}

await runCli(
  () =>
    main().catch((error: unknown) => {
      if (!(error instanceof IncompleteExportError)) throw error;
      throw new CliError(`subject access export refused: ${error.message}; extend adapters/postgres/subject-access-store.ts to read them`, EXIT.software);
    }),
  { failure: 'subject access export failed', failureCode: FAILURE },
);
