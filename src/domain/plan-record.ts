import { addYears, isRealDate, type IsoDate } from './dates.ts';
import { checkNhsNumber } from './nhs-number.ts';
import { RECORD_RESULT, type RecordDetail, type RecordResult } from './acknowledgement.ts';
import type { LacLegalStatus, Plan, PlanType } from './plan.ts';

/** A record that has passed its JSON Schema: shapes are right, rules are not yet checked. */
export type UploadRecord = {
  nhsNumber: string;
  familyName: string;
  givenNames: string;
  birthDate: string;
  postcode?: string;
  addressLines?: string[];
  planType: PlanType;
  lacLegalStatus?: LacLegalStatus;
  startDate: string;
  endDate?: string;
  deleteDate?: string;
  localId?: string;
  teamCode?: string;
};

export type RecordCheck = { ok: true; plan: Plan } | { ok: false; result: RecordResult; detail: RecordDetail };

const fail = (field: string, code: string, message: string, result: RecordResult = RECORD_RESULT.failure): RecordCheck => ({
  ok: false,
  result,
  detail: { code, field, message },
});

const NHS_MESSAGES = {
  format: 'must be 10 digits (spaces and dashes allowed)',
  checksum: 'fails the Modulus 11 check',
  'repeated-digits': 'must not be one digit repeated',
  'old-style': 'is an old-style NHS number; send the current 10-digit number',
} as const;

/** True for text PostgreSQL can hold exactly as sent: no NUL character, no unpaired UTF-16 surrogate. */
function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** The first free-text field that could not be stored as sent, named as the schema names fields. */
function unstorableField(record: UploadRecord): string | undefined {
  for (const field of ['familyName', 'givenNames', 'localId'] as const) {
    const value = record[field];
    if (value !== undefined && !isStorableText(value)) return field;
  }
  const line = (record.addressLines ?? []).findIndex((l) => !isStorableText(l));
  return line >= 0 ? `addressLines.${line}` : undefined;
}

/** Applies the publishing rules of docs/domain.md §1, §4 and §6 to one schema-valid record. */
export function checkUploadRecord(record: UploadRecord, laCode: string, today: IsoDate): RecordCheck {
  const nhs = checkNhsNumber(record.nhsNumber);
  if (!nhs.ok) {
    const result = nhs.reason === 'old-style' ? RECORD_RESULT.oldStyleNhsNumber : RECORD_RESULT.failure;
    return fail('nhsNumber', `NHS_NUMBER_${nhs.reason.toUpperCase().replace('-', '_')}`, `nhsNumber ${NHS_MESSAGES[nhs.reason]}`, result);
  }
  // Refused rather than altered: a NUL cannot be stored at all, and an unpaired surrogate would be stored as U+FFFD.
  const unstorable = unstorableField(record);
  if (unstorable) return fail(unstorable, 'INVALID_CHARACTERS', `${unstorable} contains a NUL character or invalid Unicode`);
  for (const field of ['birthDate', 'startDate', 'endDate', 'deleteDate'] as const) {
    const value = record[field];
    if (value !== undefined && !isRealDate(value)) return fail(field, 'INVALID_DATE', `${field} is not a real calendar date`);
  }
  if (record.birthDate > today) return fail('birthDate', 'BIRTH_DATE_IN_FUTURE', 'birthDate is in the future');
  if (record.endDate !== undefined && record.endDate < record.startDate)
    return fail('endDate', 'END_BEFORE_START', 'endDate is before startDate');
  if (record.planType !== 'UCPP') {
    // An adult subject's plan may still be deleted (uploaded in error) or given an end date before
    // the 18th birthday; a new or open plan for an adult is refused.
    const eighteenth = addYears(record.birthDate, 18);
    const closesChildhoodPlan = record.deleteDate !== undefined || (record.endDate !== undefined && record.endDate < eighteenth);
    if (eighteenth <= today && !closesChildhoodPlan)
      return fail('birthDate', 'SUBJECT_18_OR_OVER', `${record.planType} subjects must be under 18 (UCPP excepted); only a deleteDate or an endDate before the 18th birthday is accepted for an adult`);
    if (record.startDate < record.birthDate) return fail('startDate', 'START_BEFORE_BIRTH', 'startDate is before birthDate; use UCPP before birth');
  }
  if (record.planType === 'LAC' && record.lacLegalStatus === undefined)
    return fail('lacLegalStatus', 'LAC_LEGAL_STATUS_REQUIRED', 'lacLegalStatus (S31, S38 or S20) is required for LAC');
  if (record.planType !== 'LAC' && record.lacLegalStatus !== undefined)
    return fail('lacLegalStatus', 'LAC_LEGAL_STATUS_NOT_ALLOWED', 'lacLegalStatus is only allowed for LAC');
  return {
    ok: true,
    plan: {
      laCode,
      nhsNumber: nhs.value,
      familyName: record.familyName.trim(),
      givenNames: record.givenNames.trim().replace(/\s+/g, ' '),
      birthDate: record.birthDate,
      postcode: record.postcode ? record.postcode.toUpperCase().replace(/\s+/g, '').replace(/(...)$/, ' $1') : null,
      addressLines: record.addressLines ?? [],
      planType: record.planType,
      lacLegalStatus: record.lacLegalStatus ?? null,
      startDate: record.startDate,
      endDate: record.endDate ?? null,
      deleteDate: record.deleteDate ?? null,
      localId: record.localId ?? null,
      teamCode: record.teamCode ?? null,
    },
  };
}
