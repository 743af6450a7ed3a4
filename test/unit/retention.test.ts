import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, type IsoDate } from '../../src/domain/dates.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import { PLAN_TYPES, type Plan } from '../../src/domain/plan.ts';
import {
  eighteenthBirthdayOf, latestBirthDateAdultBy, over18Batch, over18OutcomeOf, planEndedOver18Notification, purgeCriteriaFor, type PurgeCriteria,
} from '../../src/domain/retention.ts';
import { visibilityOf } from '../../src/domain/visibility.ts';

const WINDOWS = { CPP: 365, LAC: 365, UCPP: 28 } as const;

// Days from 1990-01-01 to 2050-12-31, so that leap days and century years of the range all come up.
const day = fc.integer({ min: 0, max: 22_279 }).map((n) => addDays('1990-01-01', n));
const windows = fc.record({ CPP: fc.integer({ min: 0, max: 800 }), LAC: fc.integer({ min: 0, max: 800 }), UCPP: fc.integer({ min: 0, max: 100 }) });

const plan = (overrides: Partial<Plan> = {}): Plan => ({
  laCode: 'T000001', nhsNumber: '9990000018', familyName: 'Testchild', givenNames: 'Alex', birthDate: '2008-03-12',
  postcode: null, addressLines: [], planType: 'CPP', lacLegalStatus: null, startDate: '2024-01-10', endDate: null, deleteDate: null, localId: null,
  ...overrides,
});

/** The purge query's WHERE clause (adapters/postgres/retention-store.ts), delete dates aside, written out in TypeScript. */
function matchesPurgeQuery(p: Pick<Plan, 'planType' | 'birthDate' | 'endDate'>, criteria: PurgeCriteria): boolean {
  const c = criteria[p.planType];
  return (p.endDate !== null && p.endDate <= c.endedOnOrBefore) || (c.bornOnOrBefore !== null && p.birthDate <= c.bornOnOrBefore);
}

describe('the 18th birthday', () => {
  it('moves a 29 February birthday to 1 March, as effectiveEndOf does', () => {
    expect(eighteenthBirthdayOf('2008-02-29')).toBe('2026-03-01');
    expect(eighteenthBirthdayOf('2008-03-12')).toBe('2026-03-12');
  });

  it('latestBirthDateAdultBy is the exact inverse: born on or before it means 18 by that day', () => {
    fc.assert(
      fc.property(day, day, (born, date) => {
        expect(born <= latestBirthDateAdultBy(date)).toBe(eighteenthBirthdayOf(born) <= date);
      }),
      { numRuns: 5000 },
    );
    expect(latestBirthDateAdultBy('2024-02-29')).toBe('2006-02-28');
    expect(latestBirthDateAdultBy('2026-02-28')).toBe('2008-02-28');
    expect(latestBirthDateAdultBy('2026-03-01')).toBe('2008-03-01');
  });
});

describe('purge criteria', () => {
  it('select exactly the plans visibilityOf calls gone, for any dates and windows', () => {
    const anyPlan = fc.record({
      planType: fc.constantFrom(...PLAN_TYPES),
      birthDate: day,
      endDate: fc.option(day, { nil: null }),
      deleteDate: fc.constant(null),
    });
    fc.assert(
      fc.property(anyPlan, day, windows, (p, today, w) => {
        expect(matchesPurgeQuery(p, purgeCriteriaFor(today, w))).toBe(visibilityOf(p, today, w) === 'gone');
      }),
      { numRuns: 20_000 },
    );
  });

  it('keep a CPP visible on the last day of its window and purge it the day after', () => {
    const ended = plan({ endDate: '2025-03-10' });
    expect(matchesPurgeQuery(ended, purgeCriteriaFor('2026-03-10', WINDOWS))).toBe(false);
    expect(matchesPurgeQuery(ended, purgeCriteriaFor('2026-03-11', WINDOWS))).toBe(true);
    // A UCPP is never ended by its subject's age, however old the mother.
    expect(matchesPurgeQuery(plan({ planType: 'UCPP', birthDate: '1990-05-05' }), purgeCriteriaFor('2050-01-01', WINDOWS))).toBe(false);
  });
});

describe('the over-18 step', () => {
  const today = '2026-03-12';

  it('ends an open CPP or LAC plan on the 18th birthday and tells the LA', () => {
    expect(over18OutcomeOf(plan(), today, WINDOWS)).toEqual({ endDate: '2026-03-12', notify: true });
    expect(over18OutcomeOf(plan({ planType: 'LAC', lacLegalStatus: 'S31', endDate: '2027-01-01' }), today, WINDOWS)).toEqual({ endDate: '2026-03-12', notify: true });
  });

  it('leaves alone a UCPP, a plan of someone not yet 18, and a plan the LA had already ended', () => {
    const none = { endDate: null, notify: false };
    expect(over18OutcomeOf(plan({ planType: 'UCPP' }), today, WINDOWS)).toEqual(none);
    expect(over18OutcomeOf(plan({ birthDate: '2008-03-13' }), today, WINDOWS)).toEqual(none);
    expect(over18OutcomeOf(plan({ endDate: '2026-03-12' }), today, WINDOWS)).toEqual(none);
    expect(over18OutcomeOf(plan({ endDate: '2025-06-01' }), today, WINDOWS)).toEqual(none);
    expect(over18OutcomeOf(plan({ deleteDate: '2026-01-01' }), today, WINDOWS)).toEqual(none);
  });

  it('ends but does not notify a plan whose window has already passed (the purge removes it)', () => {
    expect(over18OutcomeOf(plan({ birthDate: '2007-03-11' }), today, WINDOWS)).toEqual({ endDate: '2025-03-11', notify: false });
    expect(over18OutcomeOf(plan({ birthDate: '2007-03-12' }), today, WINDOWS)).toEqual({ endDate: '2025-03-12', notify: true });
  });

  it('never changes visibility: the end it sets is the effective end visibilityOf already used', () => {
    const anyPlan = fc.record({ planType: fc.constantFrom(...PLAN_TYPES), birthDate: day, endDate: fc.option(day, { nil: null }), deleteDate: fc.constant(null) });
    fc.assert(
      fc.property(anyPlan, day, (p, date) => {
        const { endDate } = over18OutcomeOf(p, date, WINDOWS);
        const after = endDate === null ? p : { ...p, endDate };
        for (const later of [date, addDays(date, 1), addDays(date, 400)] as IsoDate[]) {
          expect(visibilityOf(after, later, WINDOWS)).toBe(visibilityOf(p, later, WINDOWS));
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('builds one plan-ended-over-18 notification per plan, for the owning LA, with the office-hours flag', () => {
    const office: Organisation = { code: 'T000001', name: 'Test Council', officeHoursPhone: null, edtPhone: null, officeHours: DEFAULT_OFFICE_HOURS };
    const inHours = new Date('2026-03-12T10:00:00Z');
    expect(planEndedOver18Notification(plan(), office, inHours, today, WINDOWS)).toEqual({
      laCode: 'T000001',
      body: {
        subject: { nhsNumber: '9990000018', familyName: 'Testchild', givenNames: 'Alex', birthDate: '2008-03-12' },
        plan: { type: 'CPP', startDate: '2024-01-10', lacLegalStatus: null, localId: null },
        plans: [{ type: 'CPP', startDate: '2024-01-10', status: 'active', lacLegalStatus: null, localId: null }],
        outOfHours: false,
        routedTo: null,
        endDate: '2026-03-12',
      },
    });
    expect(planEndedOver18Notification(plan(), office, new Date('2026-03-14T10:00:00Z'), '2026-03-14', WINDOWS).body).toMatchObject({
      outOfHours: true, plans: [{ status: 'inactive' }],
    });

    const batch = over18Batch(
      [
        { ...plan(), id: '1' },
        { ...plan({ laCode: 'T000002', planType: 'LAC', lacLegalStatus: 'S20' }), id: '2' },
        { ...plan({ endDate: '2025-01-01' }), id: '3' },
      ],
      [office],
      inHours, today, WINDOWS,
    );
    expect(batch.endDates).toEqual([{ id: '1', endDate: '2026-03-12' }, { id: '2', endDate: '2026-03-12' }]);
    expect(batch.notifications.map((n) => [n.laCode, n.body.plan.type, n.body.outOfHours])).toEqual([['T000001', 'CPP', false], ['T000002', 'LAC', true]]);
  });
});
