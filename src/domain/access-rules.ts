import { accessDenied, preconditionFailed } from './app-error.ts';
import { ACTIVITY, type Identity } from './identity.ts';

/** Unscheduled reads notify the LA; scheduled settings read silently (docs/domain.md §5). */
export type ReadKind = 'unscheduled' | 'silent';

export const UNSCHEDULED_HEADER = 'IsUnscheduledAccessEvent';

/** The kind of read from IsUnscheduledAccessEvent: absent means unscheduled, the safe default. */
export function readKindOf(header: string | undefined): ReadKind {
  if (header === undefined) return 'unscheduled';
  const value = header.trim().toLowerCase();
  if (value === 'true') return 'unscheduled';
  if (value === 'false') return 'silent';
  throw preconditionFailed(`${UNSCHEDULED_HEADER} must be true or false`, UNSCHEDULED_HEADER);
}

/** Only clinicians search (README, Identity: every other role is refused with 403, whatever else the request carries). */
export function authoriseSearcher(identity: Identity): void {
  if (identity.role !== 'clinician') throw accessDenied(`role ${identity.role} may not search the register`);
}

/** Only clinicians search; B0107 may view and notify, B0170 may only read silently (NHS national RBAC). */
export function authoriseSearch(identity: Identity, kind: ReadKind): void {
  authoriseSearcher(identity);
  const may = identity.activities.includes(ACTIVITY.viewAndNotify) || (kind === 'silent' && identity.activities.includes(ACTIVITY.silentRead));
  if (!may) {
    throw accessDenied(
      kind === 'unscheduled'
        ? `an unscheduled read needs activity ${ACTIVITY.viewAndNotify}`
        : `a silent read needs activity ${ACTIVITY.silentRead} or ${ACTIVITY.viewAndNotify}`,
    );
  }
}

/**
 * Telling an LA that a child was not brought (issue 15) is for clinicians, scheduled care included:
 * B0170 (silent read) or B0107. It never records an access, so neither needs the other's rights.
 */
export function authoriseNotBroughtReport(identity: Identity): void {
  if (identity.role !== 'clinician') throw accessDenied(`role ${identity.role} may not report a child not brought`);
  if (!identity.activities.includes(ACTIVITY.viewAndNotify) && !identity.activities.includes(ACTIVITY.silentRead))
    throw accessDenied(`reporting a child not brought needs activity ${ACTIVITY.silentRead} or ${ACTIVITY.viewAndNotify}`);
}
