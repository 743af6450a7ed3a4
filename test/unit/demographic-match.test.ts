import { describe, expect, it } from 'vitest';
import { checkAgainstPds, foldName, matchGivenNames, mismatchedFields } from '../../src/domain/demographic-match.ts';
import { inactivityOf, type PdsPerson } from '../../src/domain/demographics.ts';

const person = (overrides: Partial<PdsPerson> = {}): PdsPerson => ({
  nhsNumber: '9990000018',
  familyName: 'Smith',
  givenNames: ['Jane', 'Anne'],
  birthDate: '2016-05-01',
  restricted: false,
  deceased: false,
  ...overrides,
});
const record = (overrides: Partial<{ familyName: string; givenNames: string; birthDate: string }> = {}) => ({
  familyName: 'Smith',
  givenNames: 'Jane Anne',
  birthDate: '2016-05-01',
  ...overrides,
});

describe('foldName', () => {
  it('folds case, accents, spacing and typographic apostrophes and hyphens, nothing else', () => {
    expect(foldName('  ÉLODIE   Zoë ')).toBe('elodie zoe');
    expect(foldName('O’Neil')).toBe(foldName("o'neil"));
    expect(foldName('Smith‐Jones')).toBe('smith-jones');
    expect(foldName('Smyth')).not.toBe(foldName('Smith'));
    expect(foldName("O'Neil")).not.toBe(foldName('ONeil'));
  });
});

describe('matchGivenNames: full, then first, then any', () => {
  it.each([
    ['Jane Anne', ['Jane', 'Anne'], 'full'],
    ['jane   ANNE', ['Jane Anne'], 'full'],
    ['Jane', ['Jane', 'Anne'], 'first'],
    ['Jane Louise', ['Jane', 'Anne'], 'first'],
    ['Anne', ['Jane', 'Anne'], 'any'],
    ['Louise Anne', ['Jane', 'Anne'], 'any'],
    ['Paul', ['John Paul'], 'any'],
    ['Zoë', ['Zoe'], 'full'],
  ] as const)('%s against %j matches on %s', (ours, theirs, level) => {
    expect(matchGivenNames(ours, theirs)).toBe(level);
  });

  it.each([
    ['Louise', ['Jane', 'Anne']],
    ['Janet', ['Jane']],
    ['Jane', []],
    ['', ['Jane']],
  ] as const)('%s against %j does not match', (ours, theirs) => {
    expect(matchGivenNames(ours, theirs)).toBeUndefined();
  });
});

describe('checkAgainstPds', () => {
  const found = (p: PdsPerson) => ({ kind: 'found', person: p }) as const;

  it('passes a record PDS confirms, ignoring case and accents in the family name', () => {
    expect(checkAgainstPds(record({ familyName: 'SMÎTH' }), found(person()))).toEqual({ ok: true });
  });

  it('names the failing field: family name, given names, birth date', () => {
    expect(checkAgainstPds(record({ familyName: 'Smyth' }), found(person()))).toMatchObject({ ok: false, result: 'CPR03', detail: { field: 'familyName', code: 'PDS_FAMILY_NAME_MISMATCH' } });
    expect(checkAgainstPds(record({ givenNames: 'Louise' }), found(person()))).toMatchObject({ result: 'CPR03', detail: { field: 'givenNames', code: 'PDS_GIVEN_NAMES_MISMATCH' } });
    expect(checkAgainstPds(record({ birthDate: '2016-05-02' }), found(person()))).toMatchObject({ result: 'CPR03', detail: { field: 'birthDate', code: 'PDS_BIRTH_DATE_MISMATCH' } });
  });

  it('reports the first failing field and mentions the others, never a value', () => {
    const check = checkAgainstPds(record({ familyName: 'Smyth', birthDate: '2016-05-02' }), found(person()));
    expect(check).toMatchObject({ result: 'CPR03', detail: { field: 'familyName' } });
    expect(!check.ok && check.detail.message).toMatch(/birthDate/);
    expect(JSON.stringify(check)).not.toMatch(/Smyth|Smith|2016/);
    expect(mismatchedFields(record({ givenNames: 'X', birthDate: '2016-05-02' }), person())).toEqual(['givenNames', 'birthDate']);
  });

  it('cannot verify against a PDS record with no name or birth date', () => {
    expect(mismatchedFields(record(), person({ familyName: null, givenNames: [], birthDate: null }))).toEqual(['familyName', 'givenNames', 'birthDate']);
  });

  it('refuses restricted first (CPR02), then superseded (CPR05), then mismatches, then deceased', () => {
    expect(checkAgainstPds(record({ familyName: 'Other' }), found(person({ restricted: true, deceased: true })))).toMatchObject({ result: 'CPR02', detail: { code: 'PDS_RESTRICTED' } });
    expect(checkAgainstPds(record(), { kind: 'superseded', person: person(), replacementNhsNumber: '9990000026' })).toMatchObject({ result: 'CPR05', detail: { field: 'nhsNumber' } });
    expect(checkAgainstPds(record({ familyName: 'Other' }), found(person({ deceased: true })))).toMatchObject({ result: 'CPR03' });
    expect(checkAgainstPds(record(), found(person({ deceased: true })))).toMatchObject({ result: 'CPR07', detail: { code: 'PDS_DECEASED', field: 'nhsNumber' } });
  });

  it('answers CPR01 when PDS has no such number or has invalidated it', () => {
    expect(checkAgainstPds(record(), { kind: 'not-found' })).toMatchObject({ result: 'CPR01', detail: { code: 'PDS_NO_MATCH' } });
    expect(checkAgainstPds(record(), { kind: 'invalidated' })).toMatchObject({ result: 'CPR01', detail: { code: 'PDS_RECORD_INVALIDATED' } });
  });
});

describe('inactivityOf', () => {
  it('retires superseded, invalidated, restricted and deceased numbers; keeps current and unknown ones', () => {
    expect(inactivityOf({ kind: 'superseded', person: person(), replacementNhsNumber: '9990000026' })).toEqual({ reason: 'superseded', replacementNhsNumber: '9990000026' });
    expect(inactivityOf({ kind: 'invalidated' })).toEqual({ reason: 'invalidated', replacementNhsNumber: null });
    expect(inactivityOf({ kind: 'found', person: person({ deceased: true }) })).toEqual({ reason: 'deceased', replacementNhsNumber: null });
    expect(inactivityOf({ kind: 'found', person: person({ restricted: true }) })).toEqual({ reason: 'restricted', replacementNhsNumber: null });
    expect(inactivityOf({ kind: 'found', person: person() })).toBeUndefined();
    expect(inactivityOf({ kind: 'not-found' })).toBeUndefined();
    expect(inactivityOf({ kind: 'unavailable', reason: 'timeout' })).toBeUndefined();
  });
});
