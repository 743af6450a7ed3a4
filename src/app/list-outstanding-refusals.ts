import type { Identity } from '../domain/identity.ts';
import type { OutstandingRefusal } from '../domain/refusal-worklist.ts';
import type { UploadStore } from '../ports.ts';

export type OutstandingRefusalsPage = { refusals: OutstandingRefusal[]; total: number; next: string | null };

/**
 * The caller's LA's refusals worklist (README, The refusals worklist): its children whose latest record
 * was refused and has not loaded since, in NHS number order, a page after an NHS number.
 */
export function createListOutstandingRefusals(deps: { uploads: Pick<UploadStore, 'outstandingRefusals'> }) {
  return async function listOutstandingRefusals(identity: Identity, page: { after: string | null; limit: number }): Promise<OutstandingRefusalsPage> {
    // One more than asked: whether there is a next page.
    const { refusals, total } = await deps.uploads.outstandingRefusals(identity.org, page.after, page.limit + 1);
    const shown = refusals.slice(0, page.limit);
    return { refusals: shown, total, next: refusals.length > page.limit ? (shown.at(-1)?.nhsNumber ?? null) : null };
  };
}
