import type { Clock } from '../../src/ports.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Stops calling PDS while it keeps failing, so that an upload is answered CPF05 at once instead of waiting on timeouts. */
export type CircuitBreaker = {
  /** Whether a call may go ahead; once the cool-down has passed, exactly one probe is let through. */
  allows(): boolean;
  succeeded(): void;
  failed(): void;
  state(): BreakerState;
};

/** Opens after `failureThreshold` consecutive failures; half-opens for one probe after `coolDownMs`. */
export function createCircuitBreaker(options: {
  failureThreshold: number;
  coolDownMs: number;
  clock: Clock;
  onChange?: (state: BreakerState) => void;
}): CircuitBreaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  const moveTo = (next: BreakerState) => {
    if (next === state) return;
    state = next;
    options.onChange?.(next);
  };
  return {
    allows() {
      if (state === 'closed') return true;
      if (state === 'half-open') return false;
      if (options.clock.now().getTime() - openedAt < options.coolDownMs) return false;
      moveTo('half-open');
      return true;
    },
    succeeded() {
      failures = 0;
      moveTo('closed');
    },
    failed() {
      failures++;
      if (state === 'half-open' || failures >= options.failureThreshold) {
        openedAt = options.clock.now().getTime();
        moveTo('open');
      }
    },
    state: () => state,
  };
}

const MAX_BACKOFF_MS = 5_000;

/** Exponential backoff with jitter, honouring a Retry-After within the same cap so that a lookup stays bounded in time. */
export function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number): number {
  const exponential = baseMs * 2 ** attempt * (0.8 + Math.random() * 0.4);
  return Math.min(MAX_BACKOFF_MS, Math.max(exponential, retryAfterMs ?? 0));
}

/** Spaces calls evenly at no more than `perSecond`: PDS limits each application, and uploads and the re-check job share it. */
export function createRateLimiter(perSecond: number): { take(): Promise<void> } {
  const spacingMs = 1000 / perSecond;
  let nextSlot = 0;
  return {
    async take() {
      const now = performance.now();
      const slot = Math.max(now, nextSlot);
      nextSlot = slot + spacingMs;
      if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
    },
  };
}
