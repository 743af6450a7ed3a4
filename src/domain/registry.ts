import type { RefusalCount } from './acknowledgement.ts';
import { LA_CONTACT_MISSING, missingContact, type Organisation } from './organisation.ts';

/** An LA's standing with the operators: `suspended` may not publish, whatever LA_REGISTRATION says. */
export const LA_STATUSES = ['active', 'suspended'] as const;
export type LaStatus = (typeof LA_STATUSES)[number];

/** LA_REGISTRATION: `open`, any LA system may publish once it has set its details; `required`, only an LA an operator registered. */
export type RegistrationMode = 'open' | 'required';

/** Where an LA stands with the operators (migration 0019); the audit trail keeps every change. */
export type LaStanding = {
  status: LaStatus;
  /** Null: the LA set itself up (PUT /la/v1/organisation) and no operator has registered it. */
  registeredAt: Date | null;
  registeredBy: string | null;
  /** The last suspension or reinstatement. */
  statusChangedAt: Date | null;
  statusChangedBy: string | null;
  statusReason: string | null;
};

/** The standing of an LA no operator has touched. */
export const UNREGISTERED: LaStanding = Object.freeze({
  status: 'active', registeredAt: null, registeredBy: null, statusChangedAt: null, statusChangedBy: null, statusReason: null,
});

/** The stable codes an LA system can act on when its batch is refused for its standing. */
export const LA_NOT_REGISTERED = 'LA_NOT_REGISTERED';
export const LA_SUSPENDED = 'LA_SUSPENDED';

export type StandingRefusal = typeof LA_NOT_REGISTERED | typeof LA_SUSPENDED;
export type PublishingRefusal = StandingRefusal | typeof LA_CONTACT_MISSING;

/**
 * Why the LA may not publish for its standing, or undefined. A suspension holds in either mode: an
 * operator chose it, and a suspension that `open` ignored would be a trap.
 */
export function standingRefusal(standing: LaStanding | undefined, mode: RegistrationMode): StandingRefusal | undefined {
  if (standing?.status === 'suspended') return LA_SUSPENDED;
  if (mode === 'required' && !standing?.registeredAt) return LA_NOT_REGISTERED;
  return undefined;
}

/** What an upload of the LA would be refused with now, first reason first, or undefined when it may publish. */
export function publishingRefusal(organisation: Organisation | undefined, standing: LaStanding | undefined, mode: RegistrationMode): PublishingRefusal | undefined {
  return standingRefusal(standing, mode) ?? (missingContact(organisation).length ? LA_CONTACT_MISSING : undefined);
}

/** What the service's tables say of one LA's feed: counts, codes and instants, never anything of a child. */
export type FeedReading = {
  /** The LA's last accepted (committed) batch, whatever its result; null when it never had one. */
  lastUpload: { receivedAt: Date; sequenceNumber: number; result: string; refusals: RefusalCount[] } | null;
  plansHeld: number;
  /** Plans whose demographics PDS confirmed (pds_verified_at set). */
  plansVerified: number;
  unacknowledged: number;
  oldestUnacknowledgedAt: Date | null;
};

/** A feed's health at an instant: the reading, with ages by the service's clock and the verified share. */
export type FeedHealth = {
  lastUpload: (NonNullable<FeedReading['lastUpload']> & { ageSeconds: number }) | null;
  plansHeld: number;
  /** 0 to 1; null when no plan is held. */
  pdsVerifiedRatio: number | null;
  unacknowledged: number;
  oldestUnacknowledgedSeconds: number | null;
};

const secondsBetween = (earlier: Date, later: Date) => Math.max(0, (later.getTime() - earlier.getTime()) / 1000);

/** The health of a feed as it stands at `now` (the service's clock, so that tests can move it). */
export function feedHealthAt(reading: FeedReading, now: Date): FeedHealth {
  const { lastUpload, plansHeld, plansVerified, unacknowledged, oldestUnacknowledgedAt } = reading;
  return {
    lastUpload: lastUpload && { ...lastUpload, ageSeconds: secondsBetween(lastUpload.receivedAt, now) },
    plansHeld,
    pdsVerifiedRatio: plansHeld === 0 ? null : plansVerified / plansHeld,
    unacknowledged,
    oldestUnacknowledgedSeconds: oldestUnacknowledgedAt && secondsBetween(oldestUnacknowledgedAt, now),
  };
}

/** One LA as the registry holds it: its details, its standing, and what the tables say of its feed. */
export type RegistryRecord = { organisation: Organisation; standing: LaStanding; reading: FeedReading };

/** Each LA's standing and feed health at one instant, as the metrics export them. */
export type FeedHealthReading = { code: string; standing: LaStanding; health: FeedHealth }[];
