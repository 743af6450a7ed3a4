import type { IsoDate } from './dates.ts';
import type { Inactivity } from './demographics.ts';
import type { NotificationBody } from './notification.ts';
import { contactNow } from './contact-now.ts';
import type { Organisation } from './organisation.ts';
import type { Plan } from './plan.ts';
import { visibilityOf, type VisibilityWindows } from './visibility.ts';

/**
 * One `inactive-nhs-number` notification per owning LA (domain.md §6, §7), each naming only that
 * LA's plans still inside their visibility window, so the LA knows what to send again under the
 * current number. An LA whose plans had all lapsed is not told.
 */
export function inactiveNumberNotifications(
  plans: readonly Plan[],
  organisations: readonly Organisation[],
  inactivity: Inactivity,
  at: Date,
  today: IsoDate,
  windows: VisibilityWindows,
): { laCode: string; body: NotificationBody }[] {
  const visible = plans.flatMap((plan) => {
    const status = visibilityOf(plan, today, windows);
    return status === 'gone' ? [] : [{ plan, status }];
  });
  const byLa = Map.groupBy(visible, (v) => v.plan.laCode);
  return [...byLa].map(([laCode, own]) => {
    const first = (own.find((v) => v.status === 'active') ?? own[0]) as (typeof own)[number];
    const org = organisations.find((o) => o.code === laCode);
    return {
      laCode,
      body: {
        subject: { nhsNumber: first.plan.nhsNumber, familyName: first.plan.familyName, givenNames: first.plan.givenNames, birthDate: first.plan.birthDate },
        plan: { type: first.plan.planType, startDate: first.plan.startDate },
        plans: own.map((v) => ({ type: v.plan.planType, startDate: v.plan.startDate, status: v.status })),
        outOfHours: org ? contactNow(org, at).outOfHours : true,
        reason: inactivity.reason,
        replacementNhsNumber: inactivity.replacementNhsNumber,
      },
    };
  });
}
