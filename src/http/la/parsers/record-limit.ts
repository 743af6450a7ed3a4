import type { RawRecord } from '../../../app/publish-batch.ts';

/** How big one record of an upload may be. */
export type ReaderOptions = { maxRecordBytes: number };

/** The refusal of a record over the limit (CPR07 TOO_LONG); its text was never held whole. */
export const tooLong = (maxRecordBytes: number): RawRecord => ({ ok: false, code: 'TOO_LONG', message: `record is longer than ${maxRecordBytes} bytes` });
