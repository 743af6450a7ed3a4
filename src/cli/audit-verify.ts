import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { openCliDatabase } from './database.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { createLogger, errorForLog } from '../logger.ts';
import { AUDIT_LANES, verifyAuditChain, type LaneHead } from '../../adapters/postgres/audit-chain.ts';

const USAGE = `usage: npm run --silent audit:verify -- [--json] [--checkpoint <file>]

Recomputes every hash of the audit trail's hash chain and says whether it is intact. Prints one line:
rows checked, head seq and head hash. Keep the head hash somewhere the database's owners cannot
write; --json prints the full report (every lane's head), which a later run takes as --checkpoint to
prove that the chain still holds those heads. Never prints row contents.
Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR, whether or not the service is running.
Exit codes: 0 intact, 1 broken, anything else could not check (64 usage, 69 database, 70 other, 78 config).`;

// 0 and 1 are the verdicts; the rest follow sysexits(3) as the other CLIs do.
const VERDICT = { intact: 0, broken: 1 } as const;

type Args = { json: boolean; checkpoint?: LaneHead[] };

async function readCheckpoint(file: string): Promise<LaneHead[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`cannot read checkpoint file ${file}`, EXIT.usage);
  });
  const heads = (JSON.parse(text) as { heads?: unknown }).heads;
  const valid = (h: unknown): h is LaneHead => {
    const x = h as LaneHead;
    return Number.isInteger(x?.lane) && x.lane >= 0 && x.lane < AUDIT_LANES && Number.isSafeInteger(x.seq) && /^[0-9a-f]{64}$/.test(x.hash);
  };
  if (!Array.isArray(heads) || !heads.every(valid)) throw new CliError(`${file} is not the --json output of an earlier run`, EXIT.usage);
  return heads;
}

async function parse(): Promise<Args | 'help'> {
  let values;
  try {
    ({ values } = parseArgs({ options: { json: { type: 'boolean' }, checkpoint: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage);
  }
  if (values.help) return 'help';
  try {
    return { json: values.json ?? false, checkpoint: values.checkpoint ? await readCheckpoint(values.checkpoint) : undefined };
  } catch (error) {
    throw error instanceof CliError ? error : new CliError(`${values.checkpoint} is not JSON`, EXIT.usage);
  }
}

async function main(): Promise<number> {
  const args = await parse();
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return VERDICT.intact;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', pino.destination(2));
  const { pool, close } = await openCliDatabase(config, logger, {
    applicationName: 'cpis-audit-verify',
    check: async (db) => {
      const { rows } = await db.query<{ chained: boolean }>(`SELECT to_regclass('audit_chain_heads') IS NOT NULL AS chained`);
      if (!rows[0]?.chained) throw new CliError('the database has no audit chain yet (migration 0006): start the service once (npm start) to apply it', EXIT.unavailable);
    },
  });
  try {
    const report = await verifyAuditChain(pool, { checkpoint: args.checkpoint }).catch((error: unknown) => {
      throw new CliError(`could not read the audit chain: ${errorForLog(error).message}`, EXIT.unavailable);
    });
    if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (report.ok) {
      process.stdout.write(`audit chain intact: ${report.rowsChecked} rows checked in ${AUDIT_LANES} lanes; head seq ${report.headSeq}, head hash ${report.headHash}\n`);
    } else {
      const b = report.break;
      process.stdout.write(`audit chain BROKEN (${b.kind}) at lane ${b.lane ?? '-'}, seq ${b.seq ?? '-'}, id ${b.id ?? '-'}: ${b.message}; ${report.rowsChecked} rows checked before it\n`);
    }
    return report.ok ? VERDICT.intact : VERDICT.broken;
  } finally {
    await close();
  }
}

await runCli(main, { failure: 'audit verification could not run', failureCode: EXIT.software });
