/** Batch acknowledgement codes (docs/domain.md §6). */
export const BATCH_RESULT = {
  unreadable: 'CPF01',
  allLoaded: 'CPF02',
  partlyLoaded: 'CPF03',
  noneLoaded: 'CPF04',
  demographicsUnavailable: 'CPF05',
} as const;
export type BatchResult = (typeof BATCH_RESULT)[keyof typeof BATCH_RESULT];

/** Record acknowledgement codes (docs/domain.md §6). */
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

/** How many records were refused with one result and detail code. */
export type RefusalCount = { result: RecordResult; code: string; count: number };

/**
 * What an LA receives for a batch. Only non-success records are listed, the lowest indexes first and
 * at most ACK_MAX_LISTED of them; `refusalCounts` counts them all, and `recordsNext`, when some were
 * not listed, is where the rest can be paged.
 */
export type Acknowledgement = {
  uploadId: string;
  sequenceNumber: number;
  result: BatchResult;
  processed: number;
  loaded: number;
  rejected: number;
  receivedAt: string;
  records: RecordRejection[];
  refusalCounts?: RefusalCount[];
  recordsNext?: string | null;
};

/**
 * The refusals of one batch as it is read: counts by code, and the `max` lowest-indexed ones to list.
 * Memory stays bounded by `max` however many records are refused; PDS results, which arrive a chunk
 * late, still land in index order.
 */
export function createRefusalTally(max: number) {
  const counts = new Map<string, RefusalCount>();
  let lowest: RecordRejection[] = [];
  let total = 0;
  const trim = () => {
    lowest.sort((a, b) => a.index - b.index);
    lowest = lowest.slice(0, max);
  };
  return {
    add(rejection: RecordRejection): void {
      total++;
      const key = `${rejection.result}:${rejection.detail.code}`;
      const count = counts.get(key) ?? { result: rejection.result, code: rejection.detail.code, count: 0 };
      count.count++;
      counts.set(key, count);
      lowest.push(rejection);
      if (lowest.length >= 2 * max) trim();
    },
    total: () => total,
    /** The listed refusals (lowest indexes first) and the counts, most frequent first. */
    summary(): { listed: RecordRejection[]; counts: RefusalCount[] } {
      trim();
      const ordered = [...counts.values()].sort((a, b) => b.count - a.count || a.result.localeCompare(b.result) || a.code.localeCompare(b.code));
      return { listed: [...lowest], counts: ordered };
    },
  };
}

export type RefusalTally = ReturnType<typeof createRefusalTally>;

/** The batch code that follows from how many records were processed and loaded. */
export function batchResultOf(processed: number, loaded: number): BatchResult {
  if (loaded === processed) return BATCH_RESULT.allLoaded;
  return loaded === 0 ? BATCH_RESULT.noneLoaded : BATCH_RESULT.partlyLoaded;
}
