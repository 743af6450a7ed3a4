import { AppError } from '../domain/app-error.ts';
import { createRateLimiter } from '../http/rate-limit.ts';

/**
 * Open notification streams per token subject on this instance (an in-memory count, so with N
 * instances a subject may hold up to N × max). 0 is no cap.
 */
export function createStreamCounter(max: number, retryAfterSeconds: number) {
  const open = new Map<string, number>();
  return {
    /** Throws 429 when the subject already holds `max` streams here. */
    check(key: string): void {
      if (max > 0 && (open.get(key) ?? 0) >= max)
        throw new AppError(
          429, 'TOO_MANY_REQUESTS', 'throttled',
          `at most ${max} notification streams may be open at once for one user; close one first`,
          { 'Retry-After': String(retryAfterSeconds) },
        );
    },
    /** Counts one more open stream for the subject; the returned function (safe to call twice) releases it. */
    hold(key: string): () => void {
      open.set(key, (open.get(key) ?? 0) + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      };
    },
  };
}

export type FrameVerdict = { kind: 'process' } | { kind: 'refuse'; error: AppError } | { kind: 'close' };

/**
 * The frame budget of one socket: `perSecond` frames are processed, the excess is refused (an error
 * frame each), and a client that goes on at more than twice the rate is disconnected. 0 is no limit.
 */
export function createFrameGate(perSecond: number, now: () => number = Date.now) {
  const processed = createRateLimiter(perSecond, now);
  const refused = createRateLimiter(perSecond, now);
  return {
    admit(): FrameVerdict {
      const wait = processed.tryTake('socket');
      if (wait === 0) return { kind: 'process' };
      if (refused.tryTake('socket') > 0) return { kind: 'close' };
      return {
        kind: 'refuse',
        error: new AppError(
          429, 'TOO_MANY_REQUESTS', 'throttled',
          `frame not processed: more than ${perSecond} frames a second on this stream; send it again after ${wait} s, ` +
            'or acknowledge many at once with POST /la/v1/notifications/ack',
        ),
      };
    },
  };
}
