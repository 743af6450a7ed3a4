/** Capped exponential backoff with jitter: how long to wait before one more attempt. */
export type Backoff = { baseMs: number; maxMs: number };

/**
 * A reconnect storm is what takes PostgreSQL down a second time: every waiting instance retries at
 * once. Growing delays, capped so that recovery is quick, and spread by jitter over half of each.
 */
export const RECONNECT_BACKOFF: Backoff = { baseMs: 200, maxMs: 2_000 };

/** The delay before attempt `attempt` (1 is the first retry), between half and all of the capped exponential. */
export function backoffDelayMs(attempt: number, backoff: Backoff = RECONNECT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}
