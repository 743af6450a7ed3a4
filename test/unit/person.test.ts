import { describe, expect, it } from 'vitest';
import { fieldsDiffering, personOf, type PersonPlan } from '../../src/domain/person.ts';

const plan = (overrides: Partial<PersonPlan> = {}): PersonPlan => ({
  id: '1', laCode: 'TLA001', nhsNumber: '9990000018', familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-01',
  postcode: 'LS1 4AP', addressLines: ['1 Example Street'], updatedAt: '2026-01-01T00:00:00.000Z', pdsVerifiedAt: null, ...overrides,
});

describe('personOf: one rule for who the plans name', () => {
  it('takes the plan PDS confirmed most recently, then the most recently updated, then the higher id', () => {
    const unchecked = plan({ id: '1', familyName: 'Newest', updatedAt: '2026-06-01T00:00:00.000Z' });
    const older = plan({ id: '2', familyName: 'Verified long ago', pdsVerifiedAt: '2025-01-01T00:00:00.000Z' });
    const recent = plan({ id: '3', familyName: 'Verified lately', pdsVerifiedAt: '2026-01-01T00:00:00.000Z' });
    expect(personOf([unchecked, older, recent])?.familyName).toBe('Verified lately');
    expect(personOf([unchecked, plan({ id: '4', familyName: 'Older', updatedAt: '2025-06-01T00:00:00.000Z' })])?.familyName).toBe('Newest');
    expect(personOf([plan({ id: '5', familyName: 'Five' }), plan({ id: '6', familyName: 'Six' })])?.familyName).toBe('Six');
    // The order the plans come in never matters.
    expect(personOf([recent, unchecked, older])?.source.id).toBe('3');
  });

  it('lists the identity fields on which any two plans disagree, and none when they agree', () => {
    const a = plan({ id: '1' });
    expect(personOf([a, plan({ id: '2', laCode: 'TLA002' })])?.disagreements).toEqual([]);
    const person = personOf([a, plan({ id: '2', birthDate: '2016-05-02' }), plan({ id: '3', postcode: null, addressLines: [] })]);
    expect(person?.disagreements).toEqual(['birthDate', 'postcode']);
    expect(personOf([])).toBeUndefined();
  });

  it('compares the four identity fields only, a missing postcode as blank', () => {
    expect(fieldsDiffering(plan(), plan({ addressLines: ['elsewhere'], laCode: 'OTHER' }))).toEqual([]);
    expect(fieldsDiffering(plan({ postcode: null }), plan({ postcode: null }))).toEqual([]);
    expect(fieldsDiffering(plan(), plan({ familyName: 'Other', givenNames: 'Alex' }))).toEqual(['familyName', 'givenNames']);
  });
});
