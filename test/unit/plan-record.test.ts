import { describe, expect, it } from 'vitest';
import { checkUploadRecord, type UploadRecord } from '../../src/domain/plan-record.ts';

const today = '2026-06-15';
const base: UploadRecord = {
  nhsNumber: '9434765919', familyName: 'Test', givenNames: 'Alex', birthDate: '2018-01-01', planType: 'CPP', startDate: '2025-01-01',
};
const detailOf = (r: Partial<UploadRecord>) => {
  const result = checkUploadRecord({ ...base, ...r } as UploadRecord, 'LA1', today);
  return result.ok ? undefined : { result: result.result, ...result.detail };
};

describe('upload record rules', () => {
  it('accepts a valid record and normalises it', () => {
    const result = checkUploadRecord({ ...base, nhsNumber: '943 476 5919', postcode: 'ls14ap', givenNames: ' Alex  Sam ' }, 'LA1', today);
    expect(result).toMatchObject({ ok: true, plan: { nhsNumber: '9434765919', postcode: 'LS1 4AP', givenNames: 'Alex Sam', laCode: 'LA1' } });
  });

  it('names the field and rule of each failure', () => {
    expect(detailOf({ nhsNumber: '4857773456' })).toMatchObject({ result: 'CPR07', field: 'nhsNumber', code: 'NHS_NUMBER_CHECKSUM' });
    expect(detailOf({ nhsNumber: '1111111111' })).toMatchObject({ field: 'nhsNumber', code: 'NHS_NUMBER_REPEATED_DIGITS' });
    expect(detailOf({ nhsNumber: 'AB123456' })).toMatchObject({ result: 'CPR04', field: 'nhsNumber' });
    expect(detailOf({ endDate: '2024-12-31' })).toMatchObject({ field: 'endDate', code: 'END_BEFORE_START' });
    expect(detailOf({ birthDate: '2008-06-15' })).toMatchObject({ field: 'birthDate', code: 'SUBJECT_18_OR_OVER' });
    expect(detailOf({ birthDate: '2027-01-01' })).toMatchObject({ field: 'birthDate', code: 'BIRTH_DATE_IN_FUTURE' });
    expect(detailOf({ birthDate: '2023-02-29' })).toMatchObject({ field: 'birthDate', code: 'INVALID_DATE' });
    expect(detailOf({ planType: 'LAC' })).toMatchObject({ field: 'lacLegalStatus', code: 'LAC_LEGAL_STATUS_REQUIRED' });
    expect(detailOf({ lacLegalStatus: 'S31' })).toMatchObject({ field: 'lacLegalStatus', code: 'LAC_LEGAL_STATUS_NOT_ALLOWED' });
  });

  it('lets a child of 17 years 364 days on, and UCPP mothers of any age', () => {
    expect(detailOf({ birthDate: '2008-06-16' })).toBeUndefined();
    expect(detailOf({ planType: 'UCPP', birthDate: '1995-03-01' })).toBeUndefined();
  });

  it('still lets an LA delete, or end before the 18th birthday, the plan of a subject now 18', () => {
    const adult = { birthDate: '2007-01-01', startDate: '2020-01-01' };
    expect(detailOf({ ...adult, deleteDate: '2026-06-01' })).toBeUndefined();
    expect(detailOf({ ...adult, endDate: '2024-12-31' })).toBeUndefined();
    expect(detailOf({ ...adult, endDate: '2025-01-01' })).toMatchObject({ field: 'birthDate', code: 'SUBJECT_18_OR_OVER' });
    expect(detailOf(adult)).toMatchObject({ field: 'birthDate', code: 'SUBJECT_18_OR_OVER' });
  });

  it('accepts LAC with its legal status', () => {
    expect(detailOf({ planType: 'LAC', lacLegalStatus: 'S20' })).toBeUndefined();
  });

  it('never puts patient data in a message', () => {
    const detail = detailOf({ nhsNumber: '4857773456', familyName: 'Zebedee' });
    expect(JSON.stringify(detail)).not.toMatch(/4857773456|Zebedee/);
  });
});
