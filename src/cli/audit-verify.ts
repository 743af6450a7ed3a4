import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { openCliDatabase } from './database.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { createLogger, errorForLog } from '../logger.ts';
import { AUDIT_CHAINS, AUDIT_LANES, verifyAuditChains, type ChainReport, type Checkpoint, type CheckpointLane } from '../../adapters/postgres/audit-chain.ts';

const USAGE = `usage: npm run --silent audit:verify -- [--json] [--checkpoint <file>]

Recomputes every hash of the audit trail's two hash chains (audit, and unmatched-search: searches
that found no visible plan) and says whether each is intact: no row edited, removed, inserted,
reordered or back-dated, every moved anchor accounted for by a purge record, and no purge record
that removed rows younger than AUDIT_RETENTION_DAYS / UNMATCHED_SEARCH_RETENTION_DAYS. Prints one
line per chain: rows checked, head seq, head hash (a digest of every lane's anchor and head) and
purge records checked. --json prints the full report (every lane's anchor and head of each chain):
keep it at least daily somewhere the database's owners cannot write, and give it to a later run as
--checkpoint, which then proves that every row it covered is still there or was removed by a
recorded retention purge. Never prints row contents.
Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR, whether or not the service is running.
Exit codes: 0 intact, 1 broken, anything else could not check (64 usage, 69 database, 70 other, 78 config).`;

// 0 and 1 are the verdicts; the rest follow sysexits(3) as the other CLIs do.
const VERDICT = { intact: 0, broken: 1 } as const;

type Args = { json: boolean; checkpoint?: Checkpoint };

const HASH = /^[0-9a-f]{64}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// Lanes of a report; those written before migration 0013 have no anchor or recordedAt.
const validHeads = (heads: unknown): heads is CheckpointLane[] =>
  Array.isArray(heads) &&
  heads.every(
    (h: CheckpointLane) =>
      Number.isInteger(h?.lane) && h.lane >= 0 && h.lane < AUDIT_LANES && Number.isSafeInteger(h.seq) && HASH.test(h.hash) &&
      (h.recordedAt === undefined || h.recordedAt === null || INSTANT.test(h.recordedAt)) &&
      (h.anchor === undefined || (Number.isSafeInteger(h.anchor?.seq) && h.anchor.seq <= h.seq && HASH.test(h.anchor.hash))),
  );

/** The heads of a --json report; one of a version with a single chain (top-level `heads`) checks the audit chain. */
async function readCheckpoint(file: string): Promise<Checkpoint> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`cannot read checkpoint file ${file}`, EXIT.usage);
  });
  const report = (JSON.parse(text) ?? {}) as { heads?: unknown; chains?: Record<string, { ok?: boolean; heads?: unknown }> };
  const notReport = new CliError(`${file} is not the --json output of an earlier run`, EXIT.usage);
  if (!report.chains) {
    if (!validHeads(report.heads)) throw notReport;
    return { audit: report.heads };
  }
  const checkpoint: Checkpoint = {};
  for (const { name } of AUDIT_CHAINS) {
    const saved = report.chains[name];
    // A chain that was broken when the file was written recorded no heads to hold it to.
    if (saved?.ok === false) continue;
    if (!validHeads(saved?.heads)) throw notReport;
    checkpoint[name] = saved.heads;
  }
  return checkpoint;
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

function verdictLine(chain: string, report: ChainReport): string {
  if (report.ok) {
    return `${chain} chain intact: ${report.rowsChecked} rows checked in ${AUDIT_LANES} lanes; head seq ${report.headSeq}, head hash ${report.headHash}; ` +
      `${report.purgeRecords} purge record${report.purgeRecords === 1 ? '' : 's'} checked`;
  }
  const b = report.break;
  return `${chain} chain BROKEN (${b.kind}) at lane ${b.lane ?? '-'}, seq ${b.seq ?? '-'}, id ${b.id ?? '-'}: ${b.message}; ${report.rowsChecked} rows checked before it`;
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
      for (const chain of AUDIT_CHAINS) {
        const { rows } = await db.query<{ chained: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS chained`, [chain.heads]);
        if (!rows[0]?.chained)
          throw new CliError(`the database has no ${chain.name} chain yet (migration ${chain.migration}): start the service once (npm start) to apply it`, EXIT.unavailable);
      }
      const { rows } = await db.query<{ ready: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'audit_chain_anchors' AND column_name = 'db_time_from') AS ready`,
      );
      if (!rows[0]?.ready) throw new CliError('the database predates purge records (migration 0013): start the service once (npm start) to apply it', EXIT.unavailable);
    },
  });
  try {
    const retentionDays = { audit: config.retention.auditDays, 'unmatched-search': config.retention.unmatchedSearchDays };
    const report = await verifyAuditChains(pool, { checkpoint: args.checkpoint, retentionDays }).catch((error: unknown) => {
      throw new CliError(`could not read the audit chain: ${errorForLog(error).message}`, EXIT.unavailable);
    });
    if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      for (const { name } of AUDIT_CHAINS) process.stdout.write(`${verdictLine(name, report.chains[name])}\n`);
      for (const note of report.notes) process.stdout.write(`note: ${note}\n`);
    }
    return report.ok ? VERDICT.intact : VERDICT.broken;
  } finally {
    await close();
  }
}

await runCli(main, { failure: 'audit verification could not run', failureCode: EXIT.software });
