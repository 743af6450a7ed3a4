import type { IsoDate } from './dates.ts';

export const PLAN_TYPES = ['CPP', 'LAC', 'UCPP'] as const;
export type PlanType = (typeof PLAN_TYPES)[number];

/** Children Act 1989 legal statuses under which a looked-after child is on the register (docs/domain.md §1). */
export const LAC_LEGAL_STATUSES = ['S31', 'S38', 'S20'] as const;
export type LacLegalStatus = (typeof LAC_LEGAL_STATUSES)[number];

/** The minimum held per plan (docs/domain.md §2), keyed by LA + NHS number + plan type + start date. */
export type Plan = {
  laCode: string;
  nhsNumber: string;
  familyName: string;
  givenNames: string;
  birthDate: IsoDate;
  postcode: string | null;
  addressLines: string[];
  planType: PlanType;
  lacLegalStatus: LacLegalStatus | null;
  startDate: IsoDate;
  endDate: IsoDate | null;
  deleteDate: IsoDate | null;
  localId: string | null;
  /** The LA team the case is allocated to, for routing its alerts (never shown to clinicians); absent or null: none. */
  teamCode?: string | null;
};
