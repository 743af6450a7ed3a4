import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { operatorIdentity } from '../domain/identity.ts';
import { createLogger } from '../logger.ts';
import { openCliDatabase } from './database.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { changePdsMode } from '../../adapters/postgres/deployment-settings.ts';

const MODES = ['off', 'sandbox', 'live'];
const USAGE = `usage: npm run --silent pds-mode -- <off|sandbox|live> [--operator <name>]

Changes whether this deployment cross-checks uploads against PDS. Every instance must run with the
same PDS_MODE, and one configured otherwise refuses to start: stop every instance, run this, then
start them with the new PDS_MODE. Plans already held keep their recorded verification (a plan loaded
unchecked stays unchecked until its LA sends it again). The change is written to the audit trail.
Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR.
Exit codes: 0 changed, 64 usage, 69 database unavailable, 70 other, 78 bad configuration.`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { operator: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage);
  }
  if (parsed.values.help) return void process.stdout.write(`${USAGE}\n`), 0;
  const [mode, ...extra] = parsed.positionals;
  if (!mode || extra.length > 0 || !MODES.includes(mode)) throw new CliError(USAGE, EXIT.usage);
  const operator = parsed.values.operator ?? userInfo().username;
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', pino.destination(2));
  const { pool, close } = await openCliDatabase(config, logger, {
    applicationName: 'cpis-pds-mode',
    check: async (db) => {
      const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('deployment_settings') IS NOT NULL AS ok`);
      if (!rows[0]?.ok) throw new CliError('the database has no deployment settings yet (migration 0012): start the service once (npm start) to apply it', EXIT.unavailable);
    },
  });
  try {
    const from = await changePdsMode(pool, mode, (previous) => ({
      at: new Date(), action: 'deployment:pds-mode', outcome: 'ok', nhsNumber: null, unscheduled: null, requestId: randomUUID(),
      identity: operatorIdentity(operator),
      detail: { from: previous, to: mode },
    }));
    process.stdout.write(`PDS mode of this deployment: ${mode}${from && from !== mode ? ` (was ${from})` : ''}\n`);
    return 0;
  } finally {
    await close();
  }
}

await runCli(main, { failure: 'the PDS mode could not be changed', failureCode: EXIT.software });
