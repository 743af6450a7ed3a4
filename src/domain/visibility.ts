import { addDays, addYears, type IsoDate } from './dates.ts';
import type { Plan, PlanType } from './plan.ts';

export type Visibility = 'active' | 'inactive' | 'gone';
export type VisibilityWindows = Readonly<Record<PlanType, number>>;

/**
 * When a plan actually ends: its end date, or the subject's 18th birthday if sooner
 * (docs/domain.md §1; UCPP excepted, its subject is the mother).
 */
export function effectiveEndOf(plan: Pick<Plan, 'planType' | 'birthDate' | 'endDate'>): IsoDate | null {
  if (plan.planType === 'UCPP') return plan.endDate;
  const eighteenth = addYears(plan.birthDate, 18);
  return plan.endDate !== null && plan.endDate < eighteenth ? plan.endDate : eighteenth;
}

/**
 * Whether a care setting may see a plan today (docs/domain.md §3): active until its end date, then
 * visible as inactive for the plan type's window, then gone. A delete date hides it at once.
 */
export function visibilityOf(plan: Pick<Plan, 'planType' | 'birthDate' | 'endDate' | 'deleteDate'>, today: IsoDate, windows: VisibilityWindows): Visibility {
  if (plan.deleteDate !== null) return 'gone';
  const end = effectiveEndOf(plan);
  if (end === null || today <= end) return 'active';
  return today <= addDays(end, windows[plan.planType]) ? 'inactive' : 'gone';
}
