import type { Identity } from './identity.ts';
import { isOutOfHours, type Organisation } from './organisation.ts';
import type { VisiblePlan } from './lookup.ts';

export const NOTIFICATION_TYPES = ['access', 'inactive-nhs-number', 'plan-ended-over-18'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/**
 * Who looked, in the LA's terms: the token's user and role, and the national identity (SDS user id,
 * role profile id, national job role) when the identity provider gave it; null otherwise.
 */
export type AccessedBy = {
  name: string;
  userId: string;
  role: string;
  sdsUserId: string | null;
  sdsRoleProfileId: string | null;
  jobRole: { code: string; name: string | null } | null;
  organisationCode: string;
  organisationName: string;
  setting: string | null;
};

/** The caller as an access notification names them. */
export function accessedByOf(who: Identity): AccessedBy {
  return {
    name: who.name,
    userId: who.sub,
    role: who.role,
    sdsUserId: who.sdsUserId ?? null,
    sdsRoleProfileId: who.sdsRoleProfileId ?? null,
    jobRole: who.jobRole ? { code: who.jobRole.code, name: who.jobRole.name ?? null } : null,
    organisationCode: who.org,
    organisationName: who.orgName,
    setting: who.setting ?? null,
  };
}

/** What an LA is told, as stored in the outbox (without its number and acknowledgement). */
export type NotificationBody = {
  subject: { nhsNumber: string; familyName: string; givenNames: string; birthDate: string };
  plan: { type: string; startDate: string };
  plans: { type: string; startDate: string; status: string }[];
  accessedBy?: AccessedBy;
  outOfHours: boolean;
  [key: string]: unknown;
};

/** A notification as the mailbox and the stream deliver it (api.md, notification fields). */
export type Notification = NotificationBody & {
  eventNumber: number;
  type: NotificationType;
  occurredAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
};

/** One `access` notification per owning LA, each naming only that LA's plans (domain.md §7). */
export function accessNotifications(
  plans: readonly VisiblePlan[],
  organisations: readonly Organisation[],
  who: Identity,
  at: Date,
): { laCode: string; body: NotificationBody }[] {
  const byLa = Map.groupBy(plans, (p) => p.laCode);
  return [...byLa].map(([laCode, own]) => {
    const first = own.find((p) => p.status === 'active') ?? (own[0] as VisiblePlan);
    const org = organisations.find((o) => o.code === laCode);
    return {
      laCode,
      body: {
        subject: { nhsNumber: first.nhsNumber, familyName: first.familyName, givenNames: first.givenNames, birthDate: first.birthDate },
        plan: { type: first.planType, startDate: first.startDate },
        plans: own.map((p) => ({ type: p.planType, startDate: p.startDate, status: p.status })),
        accessedBy: accessedByOf(who),
        outOfHours: org ? isOutOfHours(org.officeHours, at) : true,
      },
    };
  });
}
