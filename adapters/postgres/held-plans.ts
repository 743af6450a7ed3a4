import type { Organisation } from '../../src/domain/organisation.ts';
import type { HeldPlan } from '../../src/ports.ts';
import { toOrganisation } from './organisation-store.ts';
import { PLAN_COLUMNS, toPlan, verifiedAtOf, type PlanRow } from './plan-store.ts';

/** Plans (as `p`), each with its LA. Callers add WHERE, ORDER BY (and FOR UPDATE) to suit. */
export const SELECT_PLANS_WITH_LAS = `
SELECT ${PLAN_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, p.updated_at,
       json_build_object('code', o.code, 'name', o.name, 'office_hours_phone', o.office_hours_phone,
                         'edt_phone', o.edt_phone, 'office_hours', o.office_hours, 'duty_teams', o.duty_teams) AS org
FROM plans p JOIN organisations o ON o.code = p.la_code`;

/** One NHS number's plans, each with its LA. Callers add ORDER BY (and FOR UPDATE) to suit. */
export const SELECT_HELD_PLANS = `${SELECT_PLANS_WITH_LAS}
WHERE p.nhs_number = $1`;

export type HeldPlanRow = PlanRow & { updated_at: Date; org: Parameters<typeof toOrganisation>[0] };

/** The plans, and their LAs once each. */
export function toHeldPlans(rows: HeldPlanRow[]): { plans: HeldPlan[]; organisations: Organisation[] } {
  return {
    plans: rows.map((r) => ({ ...toPlan(r), id: r.id, updatedAt: r.updated_at.toISOString(), pdsVerifiedAt: verifiedAtOf(r) })),
    // Each LA once, however many of its plans came back: its duty teams and hours are mapped per LA, not per row.
    organisations: [...new Map(rows.map((r) => [r.org.code, r.org])).values()].map(toOrganisation),
  };
}
