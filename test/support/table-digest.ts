import type pg from 'pg';

/**
 * The audit trail, which records a refusal by design (counts and codes, never the request's
 * contents), and the hash-chain bookkeeping that moves with it. Everything else must be untouched.
 */
export const AUDIT_TABLES = new Set(['audit_events', 'audit_chain_heads', 'audit_chain_anchors']);

/** One digest per table of the public schema (rows in a stable order), the audit trail left out. */
export async function tableDigests(db: pg.Pool | pg.PoolClient): Promise<Record<string, string>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  const digests: Record<string, string> = {};
  for (const { name } of tables) {
    if (AUDIT_TABLES.has(name)) continue;
    const quoted = `"${name.replaceAll('"', '""')}"`;
    const { rows } = await db.query<{ n: string; digest: string | null }>(
      `SELECT count(*) AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS digest FROM ${quoted} t`,
    );
    digests[name] = `${rows[0]?.n}:${rows[0]?.digest ?? '-'}`;
  }
  return digests;
}
