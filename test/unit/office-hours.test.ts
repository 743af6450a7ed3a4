import { describe, expect, it } from 'vitest';
import { DEFAULT_OFFICE_HOURS, isOutOfHours } from '../../src/domain/organisation.ts';

describe('office hours (Europe/London)', () => {
  it('is in hours on a weekday afternoon, in winter and in summer time', () => {
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-14T14:00:00Z'))).toBe(false);
    // 16:30 UTC in July is 17:30 BST: out of hours.
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-07-15T16:30:00Z'))).toBe(true);
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-07-15T15:30:00Z'))).toBe(false);
  });

  it('is out of hours at night and at weekends', () => {
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-14T02:00:00Z'))).toBe(true);
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-17T12:00:00Z'))).toBe(true);
  });

  it('opens at the opening minute and closes at the closing minute', () => {
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-14T09:00:00Z'))).toBe(false);
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-14T08:59:00Z'))).toBe(true);
    expect(isOutOfHours(DEFAULT_OFFICE_HOURS, new Date('2026-01-14T17:00:00Z'))).toBe(true);
  });
});
