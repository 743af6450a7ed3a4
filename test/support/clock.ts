import type { Clock } from '../../src/ports.ts';

/** A clock tests move by hand. */
export type MovableClock = Clock & { advance(ms: number): void; set(instant: Date): void };

export function movableClock(start = new Date()): MovableClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
    set: (instant) => {
      current = instant.getTime();
    },
  };
}

export const HOUR = 3_600_000;
