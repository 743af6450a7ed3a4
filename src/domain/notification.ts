import { routeAlert, type RoutedTo } from './duty-teams.ts';
import type { Identity } from './identity.ts';
import { contactNow } from './contact-now.ts';
import type { Organisation } from './organisation.ts';
import type { VisiblePlan } from './lookup.ts';
import type { Plan } from './plan.ts';
import { fieldsDiffering, IDENTITY_FIELDS, personOf, type IdentityField, type Person } from './person.ts';

export const NOTIFICATION_TYPES = ['access', 'inactive-nhs-number', 'plan-ended-over-18', 'was-not-brought', 'escalation'] as const;
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
  plan: PlanRef;
  plans: (PlanRef & { status: string })[];
  /** The duty team told, and why; null: the LA has set no teams, so every worker of the LA sees it. */
  routedTo?: RoutedTo | null;
  accessedBy?: AccessedBy;
  /**
   * When the details held for the NHS number do not all agree: the identity fields on which this LA's
   * own details differ from what the clinician was shown or from another LA's (`otherLa`), or among
   * its own plans. Null when every plan agrees.
   */
  detailsDiffer?: { fields: IdentityField[]; otherLa: boolean } | null;
  outOfHours: boolean;
  [key: string]: unknown;
};

/** A plan as a notification names it: what the duty worker needs to find the case (the LA's own reference, the legal status). */
export type PlanRef = { type: string; startDate: string; lacLegalStatus: string | null; localId: string | null };

/** The plan as a notification names it. */
export const planRefOf = (p: Pick<Plan, 'planType' | 'startDate' | 'lacLegalStatus' | 'localId'>): PlanRef => ({
  type: p.planType, startDate: p.startDate, lacLegalStatus: p.lacLegalStatus, localId: p.localId,
});

/** A notification as the mailbox and the stream deliver it (README, the notification fields of GET /la/v1/notifications). */
export type Notification = NotificationBody & {
  eventNumber: number;
  type: NotificationType;
  occurredAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  /** The display name (token `name`) of who acknowledged it. */
  acknowledgedByName: string | null;
  /** When the alert was last escalated (null: never), and how many times. */
  escalatedAt: string | null;
  escalations: number;
  routedTo: RoutedTo | null;
};

/** The person as a notification names them. */
export const subjectOf = (person: Person): NotificationBody['subject'] => ({
  nhsNumber: person.nhsNumber, familyName: person.familyName, givenNames: person.givenNames, birthDate: person.birthDate,
});

/** Where one LA's own details part from the rest: what it should put right, and whether another LA is involved. */
function detailsDifferFor(own: Person, shown: Person, others: readonly VisiblePlan[]): NotificationBody['detailsDiffer'] {
  const fromOthers = new Set(others.flatMap((p) => fieldsDiffering(own, p)));
  const all = new Set([...own.disagreements, ...fieldsDiffering(own, shown), ...fromOthers]);
  if (all.size === 0) return null;
  return { fields: IDENTITY_FIELDS.filter((f) => all.has(f)), otherLa: fromOthers.size > 0 };
}

/** An alert about one child, per owning LA, before what only its kind carries. */
type AlertCore = Pick<NotificationBody, 'subject' | 'plan' | 'plans' | 'outOfHours' | 'routedTo'>;

/**
 * What every alert about a child says to each LA with a visible plan (docs/domain.md §7): the person
 * the clinician was shown (personOf, over every visible plan), the LA's own plans only, whether it is
 * out of hours, and the duty team it is routed to; `extra` adds what the kind of alert carries.
 */
export function alertsPerLa(
  plans: readonly VisiblePlan[],
  organisations: readonly Organisation[],
  at: Date,
  extra: (own: readonly VisiblePlan[], laCode: string, shown: Person) => Omit<NotificationBody, keyof AlertCore>,
): { laCode: string; body: NotificationBody }[] {
  if (plans.length === 0) return [];
  const shown = personOf(plans) as Person;
  return [...Map.groupBy(plans, (p) => p.laCode)].map(([laCode, own]) => {
    const first = own.find((p) => p.status === 'active') ?? (own[0] as VisiblePlan);
    const org = organisations.find((o) => o.code === laCode);
    const core: AlertCore = {
      subject: subjectOf(shown),
      plan: planRefOf(first),
      plans: own.map((p) => ({ ...planRefOf(p), status: p.status })),
      outOfHours: org ? contactNow(org, at).outOfHours : true,
      routedTo: org ? routeAlert(org, first.teamCode ?? null, at) : null,
    };
    return { laCode, body: { ...core, ...extra(own, laCode, shown) } };
  });
}

/**
 * One `access` notification per owning LA, each naming only that LA's plans (docs/domain.md §7). The
 * subject is the person the clinician was shown (the same rule, personOf, over every visible plan),
 * and an LA whose own details differ is told which fields.
 */
export function accessNotifications(
  plans: readonly VisiblePlan[],
  organisations: readonly Organisation[],
  who: Identity,
  at: Date,
): { laCode: string; body: NotificationBody }[] {
  return alertsPerLa(plans, organisations, at, (own, laCode, shown) => ({
    detailsDiffer: detailsDifferFor(personOf(own) as Person, shown, plans.filter((p) => p.laCode !== laCode)),
    accessedBy: accessedByOf(who),
  }));
}
