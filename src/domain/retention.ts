import { addDays, addYears, type IsoDate } from './dates.ts';
import { planRefOf, type NotificationBody } from './notification.ts';
import { contactNow } from './contact-now.ts';
import type { Organisation } from './organisation.ts';
import { PLAN_TYPES, type Plan, type PlanType } from './plan.ts';
import { visibilityOf, type VisibilityWindows } from './visibility.ts';

/** The subject's 18th birthday, by the same rule as `effectiveEndOf` (29 February falls to 1 March). */
export function eighteenthBirthdayOf(birthDate: IsoDate): IsoDate {
  return addYears(birthDate, 18);
}

/** The latest birth date whose 18th birthday falls on or before `date`: everyone born then or earlier is an adult by that day. */
export function latestBirthDateAdultBy(date: IsoDate): IsoDate {
  // addYears moves leap days, so the plain inverse may land a day off either way.
  let born = addYears(date, -18);
  while (eighteenthBirthdayOf(born) > date) born = addDays(born, -1);
  while (eighteenthBirthdayOf(addDays(born, 1)) <= date) born = addDays(born, 1);
  return born;
}

/**
 * Per plan type, what puts a plan past its visibility window today (docs/domain.md §3): an end date on or
 * before `endedOnOrBefore`, or (CPP, LAC) a subject born on or before `bornOnOrBefore`, whose 18th
 * birthday ended the plan that long ago. Exactly the plans `visibilityOf` calls gone, delete dates aside,
 * written as bounds so that the purge query can use indexes.
 */
export type PurgeCriteria = Readonly<Record<PlanType, { endedOnOrBefore: IsoDate; bornOnOrBefore: IsoDate | null }>>;

/** The purge bounds for today and the configured windows. */
export function purgeCriteriaFor(today: IsoDate, windows: VisibilityWindows): PurgeCriteria {
  const entries = PLAN_TYPES.map((type) => {
    const endedOnOrBefore = addDays(today, -windows[type] - 1);
    return [type, { endedOnOrBefore, bornOnOrBefore: type === 'UCPP' ? null : latestBirthDateAdultBy(endedOnOrBefore) }] as const;
  });
  return Object.fromEntries(entries) as Record<PlanType, PurgeCriteria[PlanType]>;
}

/** What the over-18 step does to one plan: the end date to set (null: leave it) and whether its LA is told. */
export type Over18Outcome = { endDate: IsoDate | null; notify: boolean };

type Over18Plan = Pick<Plan, 'planType' | 'birthDate' | 'endDate' | 'deleteDate'>;

/**
 * docs/domain.md §1: a CPP or LAC plan ends on the subject's 18th birthday and its LA is told. A plan the LA
 * had already ended by then is left alone and not notified; one already past its window is ended but
 * not notified, because the purge removes it in the same pass.
 */
export function over18OutcomeOf(plan: Over18Plan, today: IsoDate, windows: VisibilityWindows): Over18Outcome {
  const eighteenth = eighteenthBirthdayOf(plan.birthDate);
  if (plan.planType === 'UCPP' || plan.deleteDate !== null || eighteenth > today) return { endDate: null, notify: false };
  if (plan.endDate !== null && plan.endDate <= eighteenth) return { endDate: null, notify: false };
  return { endDate: eighteenth, notify: visibilityOf({ ...plan, endDate: eighteenth }, today, windows) !== 'gone' };
}

/** The `plan-ended-over-18` notification for one plan, to the LA that owns it (docs/domain.md §7). */
export function planEndedOver18Notification(
  plan: Plan,
  organisation: Organisation | undefined,
  at: Date,
  today: IsoDate,
  windows: VisibilityWindows,
): { laCode: string; body: NotificationBody } {
  const endDate = eighteenthBirthdayOf(plan.birthDate);
  const status = visibilityOf({ ...plan, endDate }, today, windows);
  return {
    laCode: plan.laCode,
    body: {
      subject: { nhsNumber: plan.nhsNumber, familyName: plan.familyName, givenNames: plan.givenNames, birthDate: plan.birthDate },
      plan: planRefOf(plan),
      plans: [{ ...planRefOf(plan), status }],
      routedTo: null,
      outOfHours: organisation ? contactNow(organisation, at).outOfHours : true,
      endDate,
    },
  };
}

/** One batch of the over-18 step: every plan examined is marked handled; some get an end date, some a notification. */
export type Over18Batch = {
  endDates: { id: string; endDate: IsoDate }[];
  notifications: { laCode: string; body: NotificationBody }[];
};

/** Decides a batch of plans whose subjects have turned 18. */
export function over18Batch(
  plans: readonly (Plan & { id: string })[],
  organisations: readonly Organisation[],
  at: Date,
  today: IsoDate,
  windows: VisibilityWindows,
): Over18Batch {
  const batch: Over18Batch = { endDates: [], notifications: [] };
  for (const plan of plans) {
    const outcome = over18OutcomeOf(plan, today, windows);
    if (outcome.endDate !== null) batch.endDates.push({ id: plan.id, endDate: outcome.endDate });
    if (outcome.notify) {
      const organisation = organisations.find((o) => o.code === plan.laCode);
      batch.notifications.push(planEndedOver18Notification(plan, organisation, at, today, windows));
    }
  }
  return batch;
}
