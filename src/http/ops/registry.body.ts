import type { RegistryView } from '../../app/manage-registry.ts';
import { contactDetailsBody } from '../la/organisation.body.ts';

const iso = (at: Date | null) => at?.toISOString() ?? null;

/**
 * One LA of the registry as the ops API answers it (schemas/la-registry-entry.schema.json): its details
 * as the LA API gives them, its standing, and its feed. Counts, codes and ages only: nothing of a child.
 */
export function toRegistryEntryBody({ organisation: o, standing: s, health: h, refusal }: RegistryView) {
  return {
    ...contactDetailsBody(o),
    registered: s.registeredAt !== null,
    registeredAt: iso(s.registeredAt),
    registeredBy: s.registeredBy,
    status: s.status,
    statusChangedAt: iso(s.statusChangedAt),
    statusChangedBy: s.statusChangedBy,
    statusReason: s.statusReason,
    publishing: { allowed: refusal === undefined, refusal: refusal ?? null },
    feed: {
      lastUpload: h.lastUpload && {
        receivedAt: h.lastUpload.receivedAt.toISOString(),
        ageSeconds: Math.round(h.lastUpload.ageSeconds),
        sequenceNumber: h.lastUpload.sequenceNumber,
        result: h.lastUpload.result,
        refusals: h.lastUpload.refusals,
      },
      plansHeld: h.plansHeld,
      pdsVerifiedRatio: h.pdsVerifiedRatio,
      notifications: {
        unacknowledged: h.unacknowledged,
        oldestUnacknowledgedAgeSeconds: h.oldestUnacknowledgedSeconds === null ? null : Math.round(h.oldestUnacknowledgedSeconds),
      },
    },
  };
}
