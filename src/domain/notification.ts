import type { Identity } from './identity.ts';
import { contactNow } from './contact-now.ts';
import type { Organisation } from './organisation.ts';
import type { VisiblePlan } from './lookup.ts';

export const NOTIFICATION_TYPES = ['access', 'inactive-nhs-number', 'plan-ended-over-18'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** What an LA is told, as stored in the outbox (without its number and acknowledgement). */
export type NotificationBody = {
  subject: { nhsNumber: string; familyName: string; givenNames: string; birthDate: string };
  plan: { type: string; startDate: string };
  plans: { type: string; startDate: string; status: string }[];
  accessedBy?: { name: string; userId: string; role: string; organisationCode: string; organisationName: string; setting: string | null };
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
        accessedBy: {
          name: who.name,
          userId: who.sub,
          role: who.role,
          organisationCode: who.org,
          organisationName: who.orgName,
          setting: who.setting ?? null,
        },
        outOfHours: org ? contactNow(org, at).outOfHours : true,
      },
    };
  });
}
