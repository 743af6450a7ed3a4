import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startService, type RunningService } from '../service.ts';
import type { Acknowledgement } from '../domain/acknowledgement.ts';
import { loadOrCreateDevKey, mintDevToken, type DevKey } from '../../adapters/auth/dev-keys.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';
import { DEMO_LAS, NUMBERS_PER_LA, defaultAsOf, ndjsonChunks, nhsNumberOf, syntheticRecord, syntheticRecords, type DemoLa } from './synthetic-register.ts';

const USAGE = 'usage: npm run seed [-- --per-la 2000] [--url http://127.0.0.1:8080] [--seed 1]';

/** A failure explained in one line: a seed that cannot go on. */
class SeedError extends CliError {
  constructor(message: string) {
    super(message, EXIT.software);
  }
}

/** One line on the operator's terminal (stdout): only synthetic data and the service's own answers. */
const say = (line: string) => void process.stdout.write(`${line}\n`);

function parse(): { perLa: number; url: string | undefined; seed: number } {
  try {
    const { values } = parseArgs({
      options: { 'per-la': { type: 'string', default: '2000' }, url: { type: 'string' }, seed: { type: 'string', default: '1' } },
      strict: true,
    });
    const perLa = Number(values['per-la']);
    const seed = Number(values.seed);
    if (!Number.isInteger(perLa) || perLa < 1 || perLa > NUMBERS_PER_LA) throw new Error(`--per-la must be 1 to ${NUMBERS_PER_LA}`);
    if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
    return { perLa, url: values.url?.replace(/\/+$/, ''), seed };
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

/** The OperationOutcome's diagnostics, which never carry patient data, for the error message. */
async function failure(what: string, res: Response): Promise<SeedError> {
  const body = (await res.json().catch(() => undefined)) as { issue?: { diagnostics?: string }[] } | undefined;
  const hint = res.status === 401 ? ' (is the service using the same DATA_DIR and AUTH_ISSUER/AUTH_AUDIENCE as this script?)' : '';
  return new SeedError(`${what}: HTTP ${res.status}${body?.issue?.[0]?.diagnostics ? ` ${body.issue[0].diagnostics}` : ''}${hint}`);
}

type Loaded = { la: DemoLa; ack: Acknowledgement };

/** POSTs the LA's register as one NDJSON batch numbered `sequenceNumber`. */
function postBatch(url: string, authorization: string, laIndex: number, options: { perLa: number; seed: number }, sequenceNumber: number, signal: AbortSignal) {
  return fetch(`${url}/la/v1/uploads`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-ndjson', 'x-sequence-number': String(sequenceNumber) },
    body: Readable.from(ndjsonChunks(syntheticRecords({ laIndex, count: options.perLa, seed: options.seed }))),
    duplex: 'half',
    signal,
  });
}

/**
 * The LA's last accepted sequence number, when the service refused `sent` for not being after it: a
 * resent last number is answered with its stored acknowledgement (200, X-Replayed), a lower one with
 * a 409 whose diagnostics name the last. Undefined for any other answer.
 */
async function lastAccepted(res: Response, sent: number): Promise<number | undefined> {
  if (res.status === 200 && res.headers.get('x-replayed') === 'true') return sent;
  if (res.status !== 409) return undefined;
  const body = (await res.clone().json().catch(() => undefined)) as { issue?: { diagnostics?: string }[] } | undefined;
  const last = /last accepted batch \((\d+)\)/.exec(body?.issue?.[0]?.diagnostics ?? '')?.[1];
  return last === undefined ? undefined : Number(last);
}

async function seedLa(url: string, config: Config, key: DevKey, laIndex: number, options: { perLa: number; seed: number }): Promise<Loaded> {
  const la = DEMO_LAS[laIndex] as DemoLa;
  const token = await mintDevToken(
    key,
    { sub: `seed-${la.code.toLowerCase()}`, role: 'la-system', org: la.code, name: 'Synthetic register seed', org_name: la.name },
    { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: Math.min(3600, config.auth.maxTokenLifetimeSeconds) },
  );
  const authorization = `Bearer ${token}`;
  const org = await fetch(`${url}/la/v1/organisation`, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ name: la.name, officeHoursPhone: la.officeHoursPhone, edtPhone: la.edtPhone }),
  });
  if (!org.ok) throw await failure(`${la.code}: PUT /la/v1/organisation failed`, org);

  // The batch goes as the LA's next sequence number: 1 for an LA with no batch yet. For an LA that
  // has batches, the service answers a 1 with the LA's last number before it reads the body (see
  // lastAccepted), and the batch goes again as the one after. Nothing is kept here, so a fresh
  // database starts at 1 again.
  let sequenceNumber = 1;
  for (let attempt = 1; ; attempt++) {
    const abandon = new AbortController();
    const res = await postBatch(url, authorization, laIndex, options, sequenceNumber, abandon.signal);
    if (res.status === 201) return { la, ack: (await res.json()) as Acknowledgement };
    const last = await lastAccepted(res, sequenceNumber);
    if (last === undefined) throw await failure(`${la.code}: POST /la/v1/uploads failed`, res);
    // The service answered without reading the batch: stop sending it.
    await res.body?.cancel();
    abandon.abort();
    if (last >= Number.MAX_SAFE_INTEGER)
      throw new SeedError(`${la.code}: its last batch is numbered ${last}, the largest there is; restart its numbering with npm run --silent sequence-restart -- --la ${la.code}`);
    if (attempt === 3) throw new SeedError(`${la.code}: other batches of this LA keep arriving (last ${last}); stop them and seed again`);
    sequenceNumber = last + 1;
  }
}

const spaced = (n: string) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;

/** What an LA's register holds: plans by type, how many have ended, and its NHS numbers (every valid one between the two). */
function summaryOf(laIndex: number, options: { perLa: number; seed: number }): string {
  const byType: Record<string, number> = { CPP: 0, LAC: 0, UCPP: 0 };
  let ended = 0;
  for (const r of syntheticRecords({ laIndex, count: options.perLa, seed: options.seed })) {
    byType[r.planType] = (byType[r.planType] ?? 0) + 1;
    if (r.endDate) ended++;
  }
  const types = Object.entries(byType).map(([type, n]) => `${type} ${n}`).join(', ');
  return `${types} (${ended} ended); NHS numbers ${spaced(nhsNumberOf(laIndex, 0))} to ${spaced(nhsNumberOf(laIndex, options.perLa - 1))}`;
}

/** One current plan of each type from the first LA, for a newcomer to look up. */
function examples(seed: number, perLa: number): string[] {
  const asOf = defaultAsOf();
  const found = new Map<string, string>();
  for (let k = 0; k < perLa && found.size < 3; k++) {
    const r = syntheticRecord(0, k, seed, asOf);
    if (r.endDate || found.has(r.planType)) continue;
    const note = r.lacLegalStatus ? ` (${r.lacLegalStatus})` : r.planType === 'UCPP' ? ' (expectant mother)' : '';
    found.set(r.planType, `  ${spaced(r.nhsNumber)}  ${DEMO_LAS[0]?.code} ${r.planType}${note}`);
  }
  return [...found.values()];
}

async function main(): Promise<void> {
  const args = parse();
  const config = loadConfig();
  if (config.auth.mode !== 'dev') throw new SeedError('seeding mints dev tokens, so it needs AUTH_MODE=dev');
  const serviceUrl = args.url ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  let url = serviceUrl;
  let service: RunningService | undefined;
  if (!(await answers(url))) {
    say(`No service answers at ${url}; starting one in-process on DATA_DIR ${config.dataDir} …`);
    service = await startService(config, { logger: createLogger(config.logLevel === 'silent' ? 'silent' : 'warn') });
    url = service.url;
  }
  try {
    const key = await loadOrCreateDevKey(config.dataDir);
    say(`Seeding ${DEMO_LAS.length} synthetic LAs × ${args.perLa} records (seed ${args.seed}, as of ${defaultAsOf()}) at ${url}`);
    for (let i = 0; i < DEMO_LAS.length; i++) {
      const started = performance.now();
      const { la, ack } = await seedLa(url, config, key, i, args);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      say(`  ${la.code}  ${la.name.padEnd(42)} ${ack.result}  loaded ${ack.loaded}/${ack.processed}, rejected ${ack.rejected}  (sequence ${ack.sequenceNumber}, ${seconds} s)`);
      say(`          office hours ${la.officeHoursPhone}, EDT ${la.edtPhone}; ${summaryOf(i, args)}`);
      if (ack.result !== 'CPF02') throw new SeedError(`${la.code}: expected CPF02, got ${ack.result}; first rejection: ${JSON.stringify(ack.records[0]?.detail)}`);
    }
    say('Example NHS numbers with a current plan (all synthetic, 999 range):');
    for (const line of examples(args.seed, args.perLa)) say(line);
    say(`The seed's LAs are ${DEMO_LAS.map((la) => la.code).join(', ')}; it leaves every other LA (such as the README's LA001) and 999 000 xxxx alone.`);
    say(`Next: ${service ? 'npm start, then ' : ''}open ${serviceUrl}/console/, sign in as ${DEMO_LAS[0]?.code}, and run npm run simulate.`);
  } finally {
    await service?.stop();
  }
}

await runCli(main, { failure: 'seed failed', failureCode: EXIT.software });
