import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { operatorIdentity } from '../domain/identity.ts';
import { createLogger } from '../logger.ts';
import { openCliDatabase } from './database.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { restartSequence } from '../../adapters/postgres/sequence-restart.ts';

const LA_CODE = /^[A-Za-z0-9]{1,12}$/;
const USAGE = `usage: npm run --silent sequence-restart -- --la <LA code> [--operator <name>]

Restarts an LA's batch numbering, for an LA system that sent a sequence number it cannot go past
(up to 9007199254740991 is taken) or lost track of its numbering. The LA's next batch may then be
numbered from 1 again. Its earlier batches and their acknowledgements stay as they are, but a batch
resent from before the restart now counts as a new one: ask the LA to stop its uploads first, and
to start again from 1 once this has run. The restart is written to the audit trail.
Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR.
Exit codes: 0 restarted, 64 usage, 65 no such LA, 69 database unavailable, 70 other, 78 bad configuration.`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { la: { type: 'string' }, operator: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage);
  }
  if (parsed.values.help) return void process.stdout.write(`${USAGE}\n`), 0;
  const la = parsed.values.la;
  if (!la || !LA_CODE.test(la)) throw new CliError(USAGE, EXIT.usage);
  const operator = parsed.values.operator ?? userInfo().username;
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', pino.destination(2));
  const { pool, close } = await openCliDatabase(config, logger, {
    applicationName: 'cpis-sequence-restart',
    check: async (db) => {
      const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('upload_series') IS NOT NULL AS ok`);
      if (!rows[0]?.ok) throw new CliError('the database has no upload series yet (migration 0014): start the service once (npm start) to apply it', EXIT.unavailable);
    },
  });
  try {
    const restart = await restartSequence(pool, la, (r) => ({
      at: new Date(), action: 'upload:sequence-restart', outcome: 'ok', nhsNumber: null, unscheduled: null, requestId: randomUUID(),
      identity: operatorIdentity(operator),
      detail: { laCode: la, series: r.series, lastSequenceNumber: r.lastSequenceNumber },
    }));
    if (!restart) throw new CliError(`no LA with code ${la} has set up its organisation or uploaded`, EXIT.noSuchLa);
    const last = restart.lastSequenceNumber === null ? 'none' : String(restart.lastSequenceNumber);
    process.stdout.write(`LA ${la}: numbering restarted (series ${restart.series}; the last batch before it was ${last}). Its next batch may be numbered 1.\n`);
    return 0;
  } finally {
    await close();
  }
}

await runCli(main, { failure: 'the sequence could not be restarted', failureCode: EXIT.software });
