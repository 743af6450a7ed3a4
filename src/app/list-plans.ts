import type { Identity } from '../domain/identity.ts';
import type { PlanPage, PlanStore } from '../ports.ts';

/** The reconciliation extract: a page of what the service holds for the caller's LA. */
export function createListPlans(deps: { plans: PlanStore }) {
  return async function listPlans(identity: Identity, page: { after: string | null; limit: number }): Promise<PlanPage> {
    return deps.plans.listForLa(identity.org, page);
  };
}
