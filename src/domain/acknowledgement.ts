/** Batch acknowledgement codes (domain.md §6). */
export const BATCH_RESULT = {
  unreadable: 'CPF01',
  allLoaded: 'CPF02',
  partlyLoaded: 'CPF03',
  noneLoaded: 'CPF04',
  demographicsUnavailable: 'CPF05',
} as const;
export type BatchResult = (typeof BATCH_RESULT)[keyof typeof BATCH_RESULT];

/** Record acknowledgement codes (domain.md §6). */
export const RECORD_RESULT = {
  noPdsMatch: 'CPR01',
  sensitive: 'CPR02',
  demographicsMismatch: 'CPR03',
  oldStyleNhsNumber: 'CPR04',
  superseded: 'CPR05',
  success: 'CPR06',
  failure: 'CPR07',
} as const;
export type RecordResult = (typeof RECORD_RESULT)[keyof typeof RECORD_RESULT];

/** Why one record was not loaded: a code, the field at fault and a message free of patient data. */
export type RecordDetail = { code: string; field: string; message: string };
export type RecordRejection = { index: number; result: RecordResult; detail: RecordDetail };

/** What an LA receives for a batch; only non-success records are listed. */
export type Acknowledgement = {
  uploadId: string;
  sequenceNumber: number;
  result: BatchResult;
  processed: number;
  loaded: number;
  rejected: number;
  receivedAt: string;
  records: RecordRejection[];
};

/** The batch code that follows from how many records were processed and loaded. */
export function batchResultOf(processed: number, loaded: number): BatchResult {
  if (loaded === processed) return BATCH_RESULT.allLoaded;
  return loaded === 0 ? BATCH_RESULT.noneLoaded : BATCH_RESULT.partlyLoaded;
}
