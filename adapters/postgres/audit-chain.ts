import { createHash } from 'node:crypto';
import type pg from 'pg';

/** The lanes migrations 0006 and 0010 create in each chain; a lane missing from the database is itself a break. */
export const AUDIT_LANES = 64;

/** One hash-chained trail: its rows, its lanes' heads and anchors, the tag its canonical form starts with, and the migration that made it. */
export type AuditChain = { name: ChainName; rows: string; heads: string; anchors: string; tag: string; migration: string };
export type ChainName = 'audit' | 'unmatched-search';

/** The audit trail (migration 0006), kept AUDIT_RETENTION_DAYS. */
export const AUDIT_CHAIN: AuditChain = {
  name: 'audit', rows: 'audit_events', heads: 'audit_chain_heads', anchors: 'audit_chain_anchors', tag: 'cpis-audit/1', migration: '0006',
};

/** Searches whose NHS number had no visible plan (migration 0010), kept UNMATCHED_SEARCH_RETENTION_DAYS. */
export const UNMATCHED_SEARCH_CHAIN: AuditChain = {
  name: 'unmatched-search', rows: 'unmatched_search_events', heads: 'unmatched_search_chain_heads', anchors: 'unmatched_search_chain_anchors',
  tag: 'cpis-unmatched-search/1', migration: '0010',
};

/** Every chain, in the order they are verified and reported. */
export const AUDIT_CHAINS: readonly AuditChain[] = [AUDIT_CHAIN, UNMATCHED_SEARCH_CHAIN];

/** Where one lane of the chain ends: its newest seq and that row's hash (hex). */
export type LaneHead = { lane: number; seq: number; hash: string };

/** How the chain breaks. Each names what was most likely done to the rows. */
export type ChainBreakKind =
  | 'hash-mismatch' // a row's contents no longer match its hash: edited
  | 'gap' // seq numbers missing: rows deleted
  | 'duplicate-seq' // two rows claim one position: inserted
  | 'inserted' // a row the chain links past, before the anchor or beyond the head
  | 'reordered' // a row does not link to the one before it
  | 'head-mismatch' // the lane's head is beyond its last row: newest rows deleted
  | 'anchor-mismatch' // the first row does not follow the purge anchor
  | 'checkpoint-mismatch' // the chain no longer holds a head recorded earlier
  | 'missing-lane' // a lane's head or anchor is gone
  | 'unchained'; // a row outside every lane

/** Where the chain breaks: positions and ids only, never row contents. */
export type ChainBreak = { kind: ChainBreakKind; lane: number | null; seq: number | null; id: string | null; message: string };

/** The verdict on one chain. headSeq counts every row ever chained; headHash digests every lane's head. */
export type ChainReport =
  | { ok: true; rowsChecked: number; headSeq: number; headHash: string; heads: LaneHead[] }
  | { ok: false; rowsChecked: number; break: ChainBreak };

/** The verdict on every chain, from one snapshot: ok only when each is intact. */
export type AuditReport = { ok: boolean; chains: Record<ChainName, ChainReport> };

/** Heads recorded by an earlier report, per chain. */
export type Checkpoint = Partial<Record<ChainName, LaneHead[]>>;

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
  at: { expected: number; prev: Buffer; before: Buffer | undefined; previousId: string | undefined },
  bounds: { anchor: Position; head: Position },
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
  return undefined;
}

/** After the last row: the lane head and any checkpoint must be where the rows end. */
function judgeEnd(
  lane: number,
  at: { expected: number; prev: Buffer; previousId: string | undefined },
  bounds: { anchor: Position; head: Position },
  checkpoint: LaneHead | undefined,
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
  bounds: { anchor: Position; head: Position },
  checkpoint: LaneHead | undefined,
): Promise<{ rows: number; broken?: ChainBreak }> {
  const at = { expected: bounds.anchor.seq + 1, prev: bounds.anchor.hash, before: undefined as Buffer | undefined, previousId: undefined as string | undefined };
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
      Object.assign(at, { before: at.prev, prev: hash, previousId: r.id, expected: at.expected + 1 });
      rows++;
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    cursor = { seq: last.seq, id: last.id };
  }
  const broken = judgeEnd(lane, at, bounds, checkpoint);
  return broken ? { rows, broken } : { rows };
}

const positions = async (client: pg.PoolClient, table: string) =>
  new Map(
    (await client.query<{ lane: number; seq: string; hash: Buffer }>(`SELECT lane, seq::text AS seq, hash FROM ${table}`)).rows.map((r) => [
      r.lane,
      { seq: Number(r.seq), hash: r.hash },
    ]),
  );

/** One digest over every lane's head, to be kept outside the database. */
export function headDigest(heads: LaneHead[]): string {
  return createHash('sha256').update(heads.map((h) => `${h.lane}:${h.seq}:${h.hash}\n`).join('')).digest('hex');
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

/** Walks every lane of one chain, from its anchors to its heads, and reports the first break. */
async function verifyChain(client: pg.PoolClient, chain: AuditChain, checkpoint: LaneHead[] | undefined): Promise<ChainReport> {
  const heads = await positions(client, chain.heads);
  const anchors = await positions(client, chain.anchors);
  let rowsChecked = 0;
  const laneHeads: LaneHead[] = [];
  for (let lane = 0; lane < AUDIT_LANES; lane++) {
    const head = heads.get(lane);
    const anchor = anchors.get(lane);
    if (!head || !anchor) {
      return { ok: false, rowsChecked, break: { kind: 'missing-lane', lane, seq: null, id: null, message: `lane ${lane} has no ${head ? 'anchor' : 'head'}: deleted` } };
    }
    const walked = await walkLane(client, chain, lane, { anchor, head }, checkpoint?.find((c) => c.lane === lane));
    rowsChecked += walked.rows;
    if (walked.broken) return { ok: false, rowsChecked, break: walked.broken };
    laneHeads.push({ lane, seq: head.seq, hash: head.hash.toString('hex') });
  }
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${chain.rows}`);
  if (Number(rows[0]?.n) !== rowsChecked) return { ok: false, rowsChecked, break: await findUnchained(client, chain) };
  const headSeq = laneHeads.reduce((sum, h) => sum + h.seq, 0);
  return { ok: true, rowsChecked, headSeq, headHash: headDigest(laneHeads), heads: laneHeads };
}

/**
 * Recomputes every hash of every lane of every chain in one consistent snapshot (REPEATABLE READ),
 * paging by seq, and reports each chain's first break. With `checkpoint` (heads from an earlier
 * report) it also checks that each chain still holds those heads, which catches a lane rewritten
 * with fresh hashes.
 */
export async function verifyAuditChains(pool: pg.Pool, options: { checkpoint?: Checkpoint } = {}): Promise<AuditReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const chains = {} as Record<ChainName, ChainReport>;
    for (const chain of AUDIT_CHAINS) chains[chain.name] = await verifyChain(client, chain, options.checkpoint?.[chain.name]);
    return { ok: Object.values(chains).every((c) => c.ok), chains };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
