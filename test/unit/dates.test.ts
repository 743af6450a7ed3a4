import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { londonDateOf } from '../../src/domain/dates.ts';

const direct = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });

describe('londonDateOf', () => {
  it('gives the date in England at midnight on either side of both clock changes', () => {
    expect(londonDateOf(new Date('2026-03-28T23:59:59.999Z'))).toBe('2026-03-28');
    expect(londonDateOf(new Date('2026-03-29T00:00:00.000Z'))).toBe('2026-03-29');
    // BST: midnight in London is 23:00 UTC the day before.
    expect(londonDateOf(new Date('2026-06-30T22:59:59.999Z'))).toBe('2026-06-30');
    expect(londonDateOf(new Date('2026-06-30T23:00:00.000Z'))).toBe('2026-07-01');
    expect(londonDateOf(new Date('2026-10-24T22:59:59.999Z'))).toBe('2026-10-24');
    expect(londonDateOf(new Date('2026-10-24T23:00:00.000Z'))).toBe('2026-10-25');
  });

  it('agrees with the calendar for any instants, in any order, however close together', () => {
    const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) });
    fc.assert(
      fc.property(fc.array(fc.tuple(instant, fc.integer({ min: -120_000, max: 120_000 })), { minLength: 1, maxLength: 20 }), (pairs) => {
        for (const [t, step] of pairs) {
          for (const at of [t, t + step]) expect(londonDateOf(new Date(at))).toBe(direct.format(new Date(at)));
        }
      }),
    );
  });

  it('refuses an invalid instant as before', () => {
    expect(() => londonDateOf(new Date(Number.NaN))).toThrow(RangeError);
  });
});
