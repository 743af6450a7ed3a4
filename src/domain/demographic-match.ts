import { RECORD_RESULT, type RecordDetail, type RecordResult } from './acknowledgement.ts';
import type { PdsPerson, PdsResult } from './demographics.ts';
import type { Plan } from './plan.ts';

/** The outcome of cross-checking one record against PDS. */
export type DemographicCheck = { ok: true } | { ok: false; result: RecordResult; detail: RecordDetail };

export type GivenNameMatch = 'full' | 'first' | 'any';

const refuse = (result: RecordResult, field: string, code: string, message: string): DemographicCheck => ({
  ok: false,
  result,
  detail: { code, field, message },
});

/**
 * A name compared "exactly, ignoring case and accents": Unicode-decomposed with the marks dropped,
 * lower-cased, spaces collapsed, and typographic apostrophes and hyphens made plain (a spreadsheet
 * turns O'Neil into O’Neil without anyone noticing).
 */
export function foldName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02BC]/g, "'")
    .replace(/[\u2010\u2011\u2013]/g, '-')
    .toLocaleLowerCase('en-GB')
    .replace(/\s+/g, ' ')
    .trim();
}

const tokensOf = (names: readonly string[]): string[] => names.flatMap((n) => foldName(n).split(' ')).filter(Boolean);

/** The given-name cascade of docs/domain.md §6: the full given names, else the first given name, else any one of them. */
export function matchGivenNames(recordGivenNames: string, pdsGivenNames: readonly string[]): GivenNameMatch | undefined {
  const ours = tokensOf([recordGivenNames]);
  const theirs = tokensOf(pdsGivenNames);
  if (ours.length === 0 || theirs.length === 0) return undefined;
  if (ours.join(' ') === theirs.join(' ')) return 'full';
  if (ours[0] === theirs[0]) return 'first';
  return ours.some((name) => theirs.includes(name)) ? 'any' : undefined;
}

const MISMATCH = {
  familyName: { code: 'PDS_FAMILY_NAME_MISMATCH', message: 'familyName does not match PDS (compared ignoring case and accents)' },
  givenNames: { code: 'PDS_GIVEN_NAMES_MISMATCH', message: 'givenNames do not match PDS: neither the full given names, the first given name nor any given name agree' },
  birthDate: { code: 'PDS_BIRTH_DATE_MISMATCH', message: 'birthDate does not match PDS' },
} as const;

/** The fields whose values PDS does not confirm, in the order an LA reads a record. */
export function mismatchedFields(record: Pick<Plan, 'familyName' | 'givenNames' | 'birthDate'>, person: PdsPerson): (keyof typeof MISMATCH)[] {
  const failed: (keyof typeof MISMATCH)[] = [];
  if (person.familyName === null || foldName(record.familyName) !== foldName(person.familyName)) failed.push('familyName');
  if (!matchGivenNames(record.givenNames, person.givenNames)) failed.push('givenNames');
  if (person.birthDate === null || record.birthDate !== person.birthDate) failed.push('birthDate');
  return failed;
}

/**
 * Checks a record that passed the publishing rules against PDS's answer (docs/domain.md §6). A restricted
 * record is refused first, whatever else is true; a mismatch is reported before a death, so that a
 * wrong NHS number is never answered with another person's state. The detail names the field, never a value.
 */
export function checkAgainstPds(record: Pick<Plan, 'familyName' | 'givenNames' | 'birthDate'>, answer: Exclude<PdsResult, { kind: 'unavailable' }>): DemographicCheck {
  if (answer.kind === 'not-found') return refuse(RECORD_RESULT.noPdsMatch, 'nhsNumber', 'PDS_NO_MATCH', 'nhsNumber has no match on PDS');
  if (answer.kind === 'invalidated')
    return refuse(RECORD_RESULT.noPdsMatch, 'nhsNumber', 'PDS_RECORD_INVALIDATED', 'the PDS record for nhsNumber has been invalidated; trace the person on PDS again');
  if (answer.person.restricted)
    return refuse(RECORD_RESULT.sensitive, 'nhsNumber', 'PDS_RESTRICTED', 'the PDS record is restricted (sensitive) and cannot be held');
  if (answer.kind === 'superseded')
    return refuse(RECORD_RESULT.superseded, 'nhsNumber', 'NHS_NUMBER_SUPERSEDED', 'nhsNumber has been superseded on PDS; send the record again with the current NHS number');
  const [first, ...others] = mismatchedFields(record, answer.person);
  if (first) {
    const also = others.length ? `; ${others.join(' and ')} also do not match` : '';
    return refuse(RECORD_RESULT.demographicsMismatch, first, MISMATCH[first].code, `${MISMATCH[first].message}${also}`);
  }
  if (answer.person.deceased)
    return refuse(RECORD_RESULT.failure, 'nhsNumber', 'PDS_DECEASED', 'PDS records this person as deceased; no plan can be held for them');
  return { ok: true };
}
