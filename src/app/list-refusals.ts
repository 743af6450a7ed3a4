import type { RecordRejection } from '../domain/acknowledgement.ts';
import { notFound } from '../domain/app-error.ts';
import type { Identity } from '../domain/identity.ts';
import type { UploadStore } from '../ports.ts';

export type RefusalPage = { uploadId: string; records: RecordRejection[]; next: number | null };

/** A page of one of the caller's LA's batches' refused records, beyond what its acknowledgement lists. */
export function createListRefusals(deps: { uploads: Pick<UploadStore, 'refusals'> }) {
  return async function listRefusals(identity: Identity, uploadId: string, page: { after: number; limit: number }): Promise<RefusalPage> {
    // One more than asked: whether there is a next page, without a count.
    const rows = await deps.uploads.refusals(identity.org, uploadId, page.after, page.limit + 1);
    // Another LA's batch is as unknown as one that never was.
    if (!rows) throw notFound('no batch with this uploadId for this LA');
    const records = rows.slice(0, page.limit);
    return { uploadId, records, next: rows.length > page.limit ? (records.at(-1)?.index ?? null) : null };
  };
}
