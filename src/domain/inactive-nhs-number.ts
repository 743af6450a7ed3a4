import type { IsoDate } from './dates.ts';
import type { Inactivity } from './demographics.ts';
import { planRefOf, type NotificationBody } from './notification.ts';
import { contactNow } from './contact-now.ts';
import type { Organisation } from './organisation.ts';
import type { Plan } from './plan.ts';
import { visibilityOf, type VisibilityWindows } from './visibility.ts';

/** The number a retired one's plans move to: a merge's replacement; null when the plans stop being served. */
export function movesTo(inactivity: Inactivity): string | null {
  return inactivity.reason === 'superseded' ? inactivity.replacementNhsNumber : null;
}

/**
 * One `inactive-nhs-number` notification per owning LA (docs/domain.md §6, §7), each naming only that
 * LA's plans still inside their visibility window. For a merge the plans have moved to the current
 * number (`moved`, `replacementNhsNumber`): the LA updates its own records; otherwise they are no
 * longer served. An LA whose plans had all lapsed is not told.
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
        plan: planRefOf(first.plan),
        plans: own.map((v) => ({ ...planRefOf(v.plan), status: v.status })),
        routedTo: null,
        outOfHours: org ? contactNow(org, at).outOfHours : true,
        reason: inactivity.reason,
        replacementNhsNumber: inactivity.replacementNhsNumber,
        moved: movesTo(inactivity) !== null,
      },
    };
  });
}
