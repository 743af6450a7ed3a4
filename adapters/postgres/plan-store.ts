import type pg from 'pg';
import type { LacLegalStatus, Plan, PlanType } from '../../src/domain/plan.ts';
import type { ExtractPlan, PlanStore } from '../../src/ports.ts';

/** Columns selected wherever a Plan is read. */
export const PLAN_COLUMNS = `id, la_code, nhs_number, plan_type, start_date, end_date, delete_date, lac_legal_status,
  family_name, given_names, birth_date, postcode, address_lines, local_id, pds_verified_at, team_code`;

export type PlanRow = {
  id: string;
  la_code: string;
  nhs_number: string;
  plan_type: PlanType;
  start_date: string;
  end_date: string | null;
  delete_date: string | null;
  lac_legal_status: LacLegalStatus | null;
  family_name: string;
  given_names: string;
  birth_date: string;
  postcode: string | null;
  address_lines: string[];
  local_id: string | null;
  team_code: string | null;
  pds_verified_at: Date | null;
};

/** Maps a database row to the domain's Plan. */
export const toPlan = (r: PlanRow): Plan => ({
  laCode: r.la_code,
  nhsNumber: r.nhs_number,
  planType: r.plan_type,
  startDate: r.start_date,
  endDate: r.end_date,
  deleteDate: r.delete_date,
  lacLegalStatus: r.lac_legal_status,
  familyName: r.family_name,
  givenNames: r.given_names,
  birthDate: r.birth_date,
  postcode: r.postcode,
  addressLines: r.address_lines,
  localId: r.local_id,
  teamCode: r.team_code,
});

/** When PDS last confirmed the row's plan, as an ISO instant; null: never checked. */
export const verifiedAtOf = (r: PlanRow): string | null => r.pds_verified_at?.toISOString() ?? null;

const toExtractPlan = (r: PlanRow): ExtractPlan => ({ ...toPlan(r), pdsVerifiedAt: verifiedAtOf(r) });

/** The register in PostgreSQL. */
export function createPostgresPlanStore(pool: pg.Pool): PlanStore {
  return {
    async listForLa(laCode, { after, limit }) {
      // Keyset paging on the row id: stable while uploads run, and cheap at any depth.
      const { rows } = await pool.query<PlanRow>(
        `SELECT ${PLAN_COLUMNS} FROM plans WHERE la_code = $1 AND id > $2 ORDER BY id LIMIT $3`,
        [laCode, after ?? '0', limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { plans: page.map(toExtractPlan), next: rows.length > limit && last ? last.id : null };
    },
  };
}
