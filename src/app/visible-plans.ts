import { londonDateOf } from '../domain/dates.ts';
import type { LookupResult, VisiblePlan } from '../domain/lookup.ts';
import { effectiveEndOf, visibilityOf, type VisibilityWindows } from '../domain/visibility.ts';
import type { HeldPlan, LookupStore } from '../ports.ts';

function toVisible(plans: HeldPlan[], today: string, windows: VisibilityWindows): VisiblePlan[] {
  return plans.flatMap((plan) => {
    const visibility = visibilityOf(plan, today, windows);
    if (visibility === 'gone') return [];
    return [{ ...plan, status: visibility, effectiveEndDate: visibility === 'inactive' ? effectiveEndOf(plan) : plan.endDate }];
  });
}

/** What a care setting may see of one NHS number at an instant: the visible plans (docs/domain.md §3) and their LAs. */
export function createVisiblePlansOf(deps: { lookups: LookupStore; windows: VisibilityWindows }) {
  return async function visiblePlansOf(nhsNumber: string, at: Date): Promise<Pick<LookupResult, 'plans' | 'organisations'>> {
    const held = await deps.lookups.findByNhsNumber(nhsNumber);
    const plans = toVisible(held.plans, londonDateOf(at), deps.windows);
    return { plans, organisations: held.organisations.filter((o) => plans.some((p) => p.laCode === o.code)) };
  };
}
