import { createHash } from 'node:crypto';
import type pg from 'pg';

/** The lanes migrations 0006 and 0010 create in each chain; a lane missing from the database is itself a break. */
export const AUDIT_LANES = 64;

/**
 * One hash-chained trail: its rows, its lanes' heads and anchors, the tag its canonical form starts with, the migration that
 * made it, and the action of the audit_events rows that purge it (migration 0013).
 */
export type AuditChain = { name: ChainName; rows: string; heads: string; anchors: string; tag: string; migration: string; purgeAction: string };
export type ChainName = 'audit' | 'unmatched-search';

/** The audit trail (migration 0006), kept AUDIT_RETENTION_DAYS. */
export const AUDIT_CHAIN: AuditChain = {
  name: 'audit', rows: 'audit_events', heads: 'audit_chain_heads', anchors: 'audit_chain_anchors', tag: 'cpis-audit/1', migration: '0006',
  purgeAction: 'retention:purge-audit',
};

/** Searches whose NHS number had no visible plan (migration 0010), kept UNMATCHED_SEARCH_RETENTION_DAYS. */
export const UNMATCHED_SEARCH_CHAIN: AuditChain = {
  name: 'unmatched-search', rows: 'unmatched_search_events', heads: 'unmatched_search_chain_heads', anchors: 'unmatched_search_chain_anchors',
  tag: 'cpis-unmatched-search/1', migration: '0010', purgeAction: 'retention:purge-unmatched-searches',
};

/** Every chain, in the order they are verified and reported. */
export const AUDIT_CHAINS: readonly AuditChain[] = [AUDIT_CHAIN, UNMATCHED_SEARCH_CHAIN];

/** A position in a lane: a seq and the hash (hex) of the row there, or of the row a purge removed last. */
export type Anchor = { seq: number; hash: string };

/** One lane of a chain: where it ends (newest seq, that row's hash and database time) and where it starts (its anchor). */
export type LaneHead = { lane: number; seq: number; hash: string; recordedAt: string | null; anchor: Anchor };

/** A lane as a checkpoint holds it. One written before migration 0013 has neither recordedAt nor anchor. */
export type CheckpointLane = { lane: number; seq: number; hash: string; recordedAt?: string | null; anchor?: Anchor };

/** Retention periods in days, per chain: what verification holds each purge record to. */
export type RetentionDays = Record<ChainName, number>;

/** How the chain breaks. Each names what was most likely done to the rows. */
export type ChainBreakKind =
  | 'hash-mismatch' // a row's contents no longer match its hash: edited
  | 'gap' // seq numbers missing: rows deleted
  | 'duplicate-seq' // two rows claim one position: inserted
  | 'inserted' // a row the chain links past, before the anchor or beyond the head
  | 'reordered' // a row does not link to the one before it
  | 'head-mismatch' // the lane's head is beyond its last row: newest rows deleted
  | 'anchor-mismatch' // the first row does not follow the purge anchor
  | 'checkpoint-mismatch' // the chain no longer holds a head or anchor recorded earlier
  | 'purge-unrecorded' // an anchor moved with no purge record of the move: rows removed outside the retention purge
  | 'purge-too-early' // a purge record removed rows younger than the retention period
  | 'time-reversed' // a row recorded earlier than the one before it in its lane: back-dated
  | 'missing-lane' // a lane's head or anchor is gone
  | 'unchained'; // a row outside every lane

/** Where the chain breaks: positions and ids only, never row contents. */
export type ChainBreak = { kind: ChainBreakKind; lane: number | null; seq: number | null; id: string | null; message: string };

/**
 * The verdict on one chain. headSeq counts every row ever chained; headHash digests every lane's anchor and head;
 * purgeRecords counts the purge records of this chain checked.
 */
export type ChainReport =
  | { ok: true; rowsChecked: number; headSeq: number; headHash: string; purgeRecords: number; heads: LaneHead[] }
  | { ok: false; rowsChecked: number; break: ChainBreak };

/** The verdict on every chain, from one snapshot taken at verifiedAt (the database's time): ok only when each is intact. */
export type AuditReport = { ok: boolean; verifiedAt: string; chains: Record<ChainName, ChainReport>; notes: string[] };

/** Lanes recorded by an earlier report, per chain. */
export type Checkpoint = Partial<Record<ChainName, CheckpointLane[]>>;

const DAY_MICROS = 86_400_000_000n;
const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{3})Z$/;

/** Microseconds since the epoch of an instant as the canonical form writes it; undefined for anything else. */
function micros(instant: unknown): bigint | undefined {
  const m = typeof instant === 'string' ? INSTANT.exec(instant) : null;
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  return m && Number.isFinite(ms) ? BigInt(ms) * 1000n + BigInt(m[2] as string) : undefined;
}

const PAGE = 2000;

// The same renderings as the canonical functions of migrations 0006 and 0010, none of them
// session-dependent. Sorted by the bigint columns (e.seq), not by their text aliases.
const rowsOf = (chain: AuditChain) => `
SELECT id::text AS id, seq::text AS seq, prev_hash, hash,
       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at,
       action, outcome, user_id, user_name, user_role, organisation_code, organisation_name, setting,
       nhs_number::text AS nhs_number, unscheduled::text AS unscheduled, request_id, detail::text AS detail
FROM ${chain.rows} e
WHERE e.lane = $1 AND (e.seq, e.id) > ($2::bigint, $3::bigint)
ORDER BY e.seq, e.id
LIMIT ${PAGE}`;

type ChainRow = Record<
  'recorded_at' | 'action' | 'outcome' | 'user_id' | 'user_name' | 'user_role' | 'organisation_code' | 'organisation_name' |
  'setting' | 'nhs_number' | 'unscheduled' | 'request_id' | 'detail',
  string | null
> & { id: string; seq: string; prev_hash: Buffer | null; hash: Buffer | null };

type Position = { seq: number; hash: Buffer };
type Bounds = { anchor: Position; head: Position; dbTimeFrom: number };
type Walk = { expected: number; prev: Buffer; before: Buffer | undefined; previousId: string | undefined; previousAt: string | undefined };

/** sha256(prev || canonical bytes): each field as <UTF-8 byte length>:<value>, and NULL as ~, */
export function chainHash(tag: string, prev: Buffer, lane: number, r: ChainRow): Buffer {
  const fields = [
    tag, String(lane), r.seq, r.id, r.recorded_at, r.action, r.outcome, r.user_id, r.user_name, r.user_role,
    r.organisation_code, r.organisation_name, r.setting, r.nhs_number, r.unscheduled, r.request_id, r.detail,
  ];
  const canonical = fields.map((v) => (v === null ? '~,' : `${Buffer.byteLength(v)}:${v},`)).join('');
  return createHash('sha256').update(prev).update(canonical, 'utf8').digest();
}

const same = (a: Buffer | null, b: Buffer | null | undefined) => !!a && !!b && a.equals(b);

/** Judges one row against the lane so far; undefined when it links on correctly. */
function judge(
  chain: AuditChain,
  lane: number,
  r: ChainRow,
  at: Walk,
  bounds: Bounds,
): ChainBreak | undefined {
  const seq = Number(r.seq);
  const place = { lane, seq, id: r.id };
  if (seq < at.expected) {
    return seq <= bounds.anchor.seq
      ? { kind: 'inserted', ...place, message: `row at or before the lane's purge anchor (seq ${bounds.anchor.seq}): inserted` }
      : { kind: 'duplicate-seq', ...place, message: `a second row holds seq ${seq}: inserted` };
  }
  if (seq > at.expected) {
    const missing = seq - 1 > at.expected ? `${at.expected}-${seq - 1}` : `${at.expected}`;
    return { kind: 'gap', lane, seq: at.expected, id: r.id, message: `seq ${missing} missing before row id ${r.id}: deleted` };
  }
  if (seq > bounds.head.seq) return { kind: 'inserted', ...place, message: `row beyond the lane head (seq ${bounds.head.seq}): inserted` };
  if (!same(r.prev_hash, at.prev)) {
    if (seq === bounds.anchor.seq + 1 && bounds.anchor.seq > 0) {
      return { kind: 'anchor-mismatch', ...place, message: 'first row does not follow the purge anchor: the anchor or the row was altered' };
    }
    if (at.previousId !== undefined && same(r.prev_hash, at.before)) {
      return { kind: 'inserted', lane, seq: seq - 1, id: at.previousId, message: `row id ${at.previousId} is linked past by the next row: inserted` };
    }
    return { kind: 'reordered', ...place, message: 'row does not link to the row before it: rows reordered or replaced' };
  }
  if (!same(r.hash, chainHash(chain.tag, at.prev, lane, r))) return { kind: 'hash-mismatch', ...place, message: 'row contents do not match its hash: edited' };
  // Same-width UTC instants: text order is time order.
  if (seq >= bounds.dbTimeFrom && at.previousAt !== undefined && (r.recorded_at ?? '') < at.previousAt) {
    return { kind: 'time-reversed', ...place, message: 'recorded earlier than the row before it in the lane, though the database sets recorded_at: back-dated' };
  }
  return undefined;
}

/** After the last row: the lane head and any checkpoint must be where the rows end. */
function judgeEnd(
  lane: number,
  at: Walk,
  bounds: Bounds,
  checkpoint: CheckpointLane | undefined,
): ChainBreak | undefined {
  const lastSeq = at.expected - 1;
  if (bounds.head.seq > lastSeq) {
    return { kind: 'head-mismatch', lane, seq: lastSeq + 1, id: null, message: `lane head is at seq ${bounds.head.seq} but its rows end at ${lastSeq}: newest rows deleted` };
  }
  if (!bounds.head.hash.equals(at.prev)) {
    return { kind: 'head-mismatch', lane, seq: bounds.head.seq, id: at.previousId ?? null, message: 'lane head hash differs from its newest row' };
  }
  if (checkpoint && checkpoint.seq > lastSeq) {
    return { kind: 'checkpoint-mismatch', lane, seq: checkpoint.seq, id: null, message: `the checkpoint reached seq ${checkpoint.seq}, the lane now ends at ${lastSeq}: rows deleted` };
  }
  if (checkpoint && checkpoint.seq === bounds.anchor.seq && checkpoint.hash !== bounds.anchor.hash.toString('hex')) {
    return { kind: 'checkpoint-mismatch', lane, seq: checkpoint.seq, id: null, message: 'purge anchor differs from the checkpoint: rewritten' };
  }
  return undefined;
}

/** Walks one lane page by page, from its anchor to its head. */
async function walkLane(
  client: pg.PoolClient,
  chain: AuditChain,
  lane: number,
  bounds: Bounds,
  checkpoint: CheckpointLane | undefined,
): Promise<{ rows: number; broken?: ChainBreak }> {
  const at: Walk = { expected: bounds.anchor.seq + 1, prev: bounds.anchor.hash, before: undefined, previousId: undefined, previousAt: undefined };
  let rows = 0;
  let cursor = { seq: '-9223372036854775808', id: '-9223372036854775808' };
  for (;;) {
    const page = (await client.query<ChainRow>(rowsOf(chain), [lane, cursor.seq, cursor.id])).rows;
    for (const r of page) {
      const broken = judge(chain, lane, r, at, bounds);
      if (broken) return { rows, broken };
      const hash = r.hash as Buffer;
      if (checkpoint?.seq === Number(r.seq) && hash.toString('hex') !== checkpoint.hash) {
        return { rows, broken: { kind: 'checkpoint-mismatch', lane, seq: checkpoint.seq, id: r.id, message: 'row no longer has the hash recorded at the checkpoint: rewritten' } };
      }
      Object.assign(at, { before: at.prev, prev: hash, previousId: r.id, previousAt: r.recorded_at ?? undefined, expected: at.expected + 1 });
      rows++;
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    cursor = { seq: last.seq, id: last.id };
  }
  const broken = judgeEnd(lane, at, bounds, checkpoint);
  return broken ? { rows, broken } : { rows };
}

type LaneState = { head: Position & { recordedAt: string | null }; anchor: Position & { dbTimeFrom: number } };

async function lanesOf(client: pg.PoolClient, chain: AuditChain): Promise<{ heads: Map<number, LaneState['head']>; anchors: Map<number, LaneState['anchor']> }> {
  const heads = await client.query<{ lane: number; seq: string; hash: Buffer; recorded_at: string | null }>(
    `SELECT lane, seq::text AS seq, hash, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at FROM ${chain.heads}`,
  );
  const anchors = await client.query<{ lane: number; seq: string; hash: Buffer; db_time_from: string }>(
    `SELECT lane, seq::text AS seq, hash, db_time_from::text AS db_time_from FROM ${chain.anchors}`,
  );
  return {
    heads: new Map(heads.rows.map((r) => [r.lane, { seq: Number(r.seq), hash: r.hash, recordedAt: r.recorded_at }])),
    anchors: new Map(anchors.rows.map((r) => [r.lane, { seq: Number(r.seq), hash: r.hash, dbTimeFrom: Number(r.db_time_from) }])),
  };
}

/** One digest over every lane's anchor and head, to be kept outside the database. */
export function headDigest(heads: LaneHead[]): string {
  return createHash('sha256').update(heads.map((h) => `${h.lane}:${h.anchor.seq}:${h.anchor.hash}:${h.seq}:${h.hash}\n`).join('')).digest('hex');
}

async function findUnchained(client: pg.PoolClient, chain: AuditChain): Promise<ChainBreak> {
  const { rows } = await client.query<{ id: string; lane: number | null; seq: string | null }>(
    `SELECT id::text AS id, lane, seq::text AS seq FROM ${chain.rows}
     WHERE lane IS NULL OR seq IS NULL OR lane < 0 OR lane >= $1 ORDER BY id LIMIT 1`,
    [AUDIT_LANES],
  );
  const r = rows[0];
  return { kind: 'unchained', lane: r?.lane ?? null, seq: r?.seq ? Number(r.seq) : null, id: r?.id ?? null, message: 'row outside every lane of the chain: inserted' };
}

/** One anchor move a purge record says it made. */
type Move = { lane: number; from: Anchor; to: Anchor; record: PurgeRecord };

/** A purge record (migration 0013) as verification reads it from audit_events. Legacy: written before 0013, counts only. */
type PurgeRecord = {
  id: string; lane: number; seq: number; recordedAt: string; chain: ChainName;
  legacy: boolean; retentionDays: number; cutoff: string; moves: { lane: number; from: Anchor; to: Anchor }[]; malformed: boolean;
};

// Every purge record of both chains, by the partial index of migration 0013.
const PURGE_RECORDS = `
SELECT id::text AS id, lane, seq::text AS seq, action, detail,
       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at
FROM audit_events
WHERE action IN ('retention:purge-audit', 'retention:purge-unmatched-searches')
ORDER BY lane, seq`;

const isAnchor = (a: unknown): a is Anchor =>
  typeof a === 'object' && a !== null && Number.isSafeInteger((a as Anchor).seq) && /^[0-9a-f]{64}$/.test(String((a as Anchor).hash));

async function readPurgeRecords(client: pg.PoolClient): Promise<PurgeRecord[]> {
  const { rows } = await client.query<{ id: string; lane: number; seq: string; action: string; detail: Record<string, unknown> | null; recorded_at: string }>(PURGE_RECORDS);
  return rows.map((r) => {
    const chain = AUDIT_CHAINS.find((c) => c.purgeAction === r.action)?.name as ChainName;
    const d = r.detail ?? {};
    const base = { id: r.id, lane: r.lane, seq: Number(r.seq), recordedAt: r.recorded_at, chain };
    if (!('moves' in d)) return { ...base, legacy: true, retentionDays: 0, cutoff: '', moves: [], malformed: false };
    const moves = Array.isArray(d.moves) ? (d.moves as { lane: number; from: Anchor; to: Anchor }[]) : [];
    const malformed =
      d.chain !== chain || !Number.isSafeInteger(d.retentionDays) || micros(d.cutoff) === undefined || !Array.isArray(d.moves) ||
      !moves.every((m) => Number.isInteger(m?.lane) && isAnchor(m.from) && isAnchor(m.to) && m.to.seq > m.from.seq);
    return { ...base, legacy: false, retentionDays: Number(d.retentionDays), cutoff: String(d.cutoff), moves: malformed ? [] : moves, malformed };
  });
}

const sameAnchor = (a: Anchor, b: Anchor) => a.seq === b.seq && a.hash === b.hash;
const hexOf = (p: Position): Anchor => ({ seq: p.seq, hash: p.hash.toString('hex') });

/** Each purge record of the chain: well formed, under at least the configured retention, cutting no later than that allows. */
function judgePurgeRecords(records: PurgeRecord[], retentionDays: number): ChainBreak | undefined {
  for (const r of records) {
    if (r.legacy) continue;
    const place = { lane: r.moves[0]?.lane ?? null, seq: null, id: r.id };
    const which = `purge record audit_events id ${r.id}`;
    if (r.malformed) return { kind: 'purge-unrecorded', ...place, message: `${which} does not say what it moved: edited or forged` };
    if (r.retentionDays < retentionDays) {
      return { kind: 'purge-too-early', ...place, message: `${which} purged under a retention period of ${r.retentionDays} days, shorter than the ${retentionDays} configured: rows younger than the retention period removed` };
    }
    if ((micros(r.cutoff) as bigint) > (micros(r.recordedAt) as bigint) - BigInt(retentionDays) * DAY_MICROS) {
      return { kind: 'purge-too-early', ...place, message: `${which} cut later than ${retentionDays} days before it was recorded: rows younger than the retention period removed` };
    }
  }
  return undefined;
}

/** A lane's anchor against the purge records present: their moves connect, and the newest ends at the anchor. */
function judgeAnchor(lane: number, anchor: Anchor, moves: Move[], anyPurgeRecord: boolean): ChainBreak | undefined {
  const place = { lane, seq: anchor.seq, id: null };
  for (let k = 1; k < moves.length; k++) {
    const [before, next] = [moves[k - 1] as Move, moves[k] as Move];
    if (!sameAnchor(before.to, next.from)) {
      return { kind: 'purge-unrecorded', ...place, seq: before.to.seq, id: next.record.id,
        message: `purge record audit_events id ${next.record.id} moved the anchor from seq ${next.from.seq}, but the one before left it at seq ${before.to.seq}: moved outside the retention purge` };
    }
  }
  const newest = moves.at(-1);
  if (newest && !sameAnchor(newest.to, anchor)) {
    return { kind: 'purge-unrecorded', ...place, id: newest.record.id,
      message: `anchor is at seq ${anchor.seq}, but the newest purge record for the lane (audit_events id ${newest.record.id}) left it at seq ${newest.to.seq}: moved outside the retention purge` };
  }
  // Each purge writes a record that only a later purge, writing its own, can remove.
  if (!newest && anchor.seq > 0 && !anyPurgeRecord) {
    return { kind: 'purge-unrecorded', ...place, message: `anchor moved to seq ${anchor.seq}, but the audit trail holds no purge record at all: rows removed outside the retention purge` };
  }
  return undefined;
}

/** A lane's anchor against a checkpoint: the same, or reached from the checkpoint's through recorded moves. */
function judgeAnchorAgainst(lane: number, anchor: Anchor, moves: Move[], checkpoint: CheckpointLane): ChainBreak | undefined {
  const start = checkpoint.anchor;
  if (!start) {
    // Written before migration 0013: its head is the only thing it proves.
    const covered = moves.some((m) => m.from.seq < checkpoint.seq && m.to.seq >= checkpoint.seq);
    if (checkpoint.seq > 0 && anchor.seq >= checkpoint.seq && !covered) {
      return { kind: 'purge-unrecorded', lane, seq: checkpoint.seq, id: null,
        message: `the checkpoint's head (seq ${checkpoint.seq}) is at or behind the anchor (seq ${anchor.seq}), and no purge record removed it: rows deleted` };
    }
    return undefined;
  }
  if (anchor.seq < start.seq || (anchor.seq === start.seq && anchor.hash !== start.hash)) {
    return { kind: 'checkpoint-mismatch', lane, seq: anchor.seq, id: null, message: `anchor (seq ${anchor.seq}) is not the checkpoint's (seq ${start.seq}) nor past it: rewritten` };
  }
  let at = start;
  while (at.seq < anchor.seq) {
    const from = at;
    const move = moves.find((m) => sameAnchor(m.from, from));
    if (!move) {
      const which = from === start ? "the checkpoint's anchor" : 'where a purge left it';
      return { kind: 'purge-unrecorded', lane, seq: from.seq + 1, id: null,
        message: `anchor moved from seq ${from.seq} (${which}) to seq ${anchor.seq} with no purge record of the move: rows ${from.seq + 1}-${anchor.seq} removed outside the retention purge` };
    }
    const tookHead = move.from.seq < checkpoint.seq && move.to.seq >= checkpoint.seq;
    if (tookHead && checkpoint.recordedAt && checkpoint.recordedAt >= move.record.cutoff) {
      return { kind: 'purge-too-early', lane, seq: checkpoint.seq, id: move.record.id,
        message: `purge record audit_events id ${move.record.id} removed the checkpoint's head (seq ${checkpoint.seq}), recorded at or after its cut-off: rows younger than the cut-off removed` };
    }
    at = move.to;
  }
  if (!sameAnchor(at, anchor)) {
    return { kind: 'purge-unrecorded', lane, seq: anchor.seq, id: null, message: `anchor (seq ${anchor.seq}) is not where the purge records from the checkpoint lead (seq ${at.seq}): moved outside the retention purge` };
  }
  return undefined;
}

type Context = { records: PurgeRecord[]; anyPurgeRecord: boolean; retentionDays: number };

/** Walks every lane of one chain, from its anchors to its heads, then its anchors against its purge records; reports the first break. */
async function verifyChain(client: pg.PoolClient, chain: AuditChain, checkpoint: CheckpointLane[] | undefined, context: Context): Promise<ChainReport> {
  const { heads, anchors } = await lanesOf(client, chain);
  const moves = new Map<number, Move[]>();
  for (const record of context.records) for (const m of record.moves) moves.set(m.lane, [...(moves.get(m.lane) ?? []), { ...m, record }]);
  let rowsChecked = 0;
  const laneHeads: LaneHead[] = [];
  for (let lane = 0; lane < AUDIT_LANES; lane++) {
    const head = heads.get(lane);
    const anchor = anchors.get(lane);
    if (!head || !anchor) {
      return { ok: false, rowsChecked, break: { kind: 'missing-lane', lane, seq: null, id: null, message: `lane ${lane} has no ${head ? 'anchor' : 'head'}: deleted` } };
    }
    const saved = checkpoint?.find((c) => c.lane === lane);
    const walked = await walkLane(client, chain, lane, { anchor, head, dbTimeFrom: anchor.dbTimeFrom }, saved);
    rowsChecked += walked.rows;
    if (walked.broken) return { ok: false, rowsChecked, break: walked.broken };
    const laneMoves = (moves.get(lane) ?? []).sort((a, b) => a.to.seq - b.to.seq);
    // Against a checkpoint first: it says most precisely what went.
    const broken = (saved && judgeAnchorAgainst(lane, hexOf(anchor), laneMoves, saved)) ?? judgeAnchor(lane, hexOf(anchor), laneMoves, context.anyPurgeRecord);
    if (broken) return { ok: false, rowsChecked, break: broken };
    laneHeads.push({ lane, seq: head.seq, hash: head.hash.toString('hex'), recordedAt: head.recordedAt, anchor: hexOf(anchor) });
  }
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${chain.rows}`);
  if (Number(rows[0]?.n) !== rowsChecked) return { ok: false, rowsChecked, break: await findUnchained(client, chain) };
  const early = judgePurgeRecords(context.records, context.retentionDays);
  if (early) return { ok: false, rowsChecked, break: early };
  const headSeq = laneHeads.reduce((sum, h) => sum + h.seq, 0);
  return { ok: true, rowsChecked, headSeq, headHash: headDigest(laneHeads), purgeRecords: context.records.length, heads: laneHeads };
}

/**
 * Recomputes every hash of every lane of every chain in one consistent snapshot (REPEATABLE READ),
 * paging by seq, and reports each chain's first break: rows edited, removed, inserted, reordered or
 * back-dated; an anchor moved with no purge record of the move; a purge record that removed rows
 * younger than `retentionDays` (the configured periods). With `checkpoint` (lanes from an earlier
 * report) it also checks that each chain still holds those heads, or that purge records account for
 * every covered row that is gone, which catches a lane rewritten with fresh hashes or purged by hand.
 */
export async function verifyAuditChains(pool: pg.Pool, options: { checkpoint?: Checkpoint; retentionDays: RetentionDays }): Promise<AuditReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ at: string }>(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`);
    const records = await readPurgeRecords(client);
    const notes: string[] = [];
    const chains = {} as Record<ChainName, ChainReport>;
    for (const chain of AUDIT_CHAINS) {
      const checkpoint = options.checkpoint?.[chain.name];
      if (checkpoint?.some((c) => !c.anchor)) {
        notes.push(`the ${chain.name} checkpoint records no anchors (written before migration 0013): it proves the heads, not what purges removed; keep a new one (--json)`);
      }
      const context = { records: records.filter((r) => r.chain === chain.name), anyPurgeRecord: records.length > 0, retentionDays: options.retentionDays[chain.name] };
      chains[chain.name] = await verifyChain(client, chain, checkpoint, context);
    }
    return { ok: Object.values(chains).every((c) => c.ok), verifiedAt: rows[0]?.at as string, chains, notes };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
