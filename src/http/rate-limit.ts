import { tooManyRequests } from '../domain/app-error.ts';

/**
 * A token bucket per caller (token subject), per instance: `perSecond` requests a second on
 * average, bursts up to one second's worth. 0 turns limiting off.
 */
export function createRateLimiter(perSecond: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweptAt = now();
  /** Takes one request from the caller's bucket: 0 when granted, else the whole seconds to wait. */
  const tryTake = (key: string): number => {
    if (perSecond <= 0) return 0;
    const t = now();
    if (t - sweptAt > 60_000) {
      // Forget callers idle for a minute: their buckets would be full again anyway.
      for (const [k, b] of buckets) if (t - b.at > 60_000) buckets.delete(k);
      sweptAt = t;
    }
    const bucket = buckets.get(key) ?? { tokens: perSecond, at: t };
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    bucket.tokens -= 1;
    return 0;
  };
  return {
    tryTake,
    /** Takes one request from the caller's bucket, or throws 429 with the seconds to wait. */
    take(key: string): void {
      const wait = tryTake(key);
      if (wait > 0) throw tooManyRequests(wait);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
