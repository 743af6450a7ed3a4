/** A person as the Personal Demographics Service (PDS) holds them, reduced to what the register needs. */
export type PdsPerson = {
  nhsNumber: string;
  familyName: string | null;
  /** Each given name on its own, first name first. */
  givenNames: string[];
  birthDate: string | null;
  /** `meta.security` R (restricted) or V (very restricted): such a record is never held (docs/domain.md §6, CPR02). */
  restricted: boolean;
  deceased: boolean;
};

/** Why PDS could not answer; operational detail only, never patient data. */
export type PdsUnavailableReason = 'circuit-open' | 'timeout' | 'throttled' | 'server-error' | 'network' | 'auth' | 'unexpected-response';

/** PDS's answer for one NHS number. */
export type PdsResult =
  | { kind: 'found'; person: PdsPerson }
  /** PDS answered with another, current NHS number (a merge): the one asked about is superseded. */
  | { kind: 'superseded'; person: PdsPerson; replacementNhsNumber: string }
  | { kind: 'not-found' }
  /** PDS marked the record invalid (INVALIDATED_RESOURCE): it cannot be retrieved any more. */
  | { kind: 'invalidated' }
  | { kind: 'unavailable'; reason: PdsUnavailableReason };

/** Why a held NHS number stops being served (docs/domain.md §6, inactive NHS numbers). */
export type InactiveReason = 'superseded' | 'deceased' | 'invalidated' | 'restricted';
export type Inactivity = { reason: InactiveReason; replacementNhsNumber: string | null };

/**
 * Whether a number already held has become inactive. A plain "not found" is not treated as
 * inactive: PDS says so for a number it has invalidated, and anything else may be transient.
 */
export function inactivityOf(result: PdsResult): Inactivity | undefined {
  switch (result.kind) {
    case 'superseded':
      return { reason: 'superseded', replacementNhsNumber: result.replacementNhsNumber };
    case 'invalidated':
      return { reason: 'invalidated', replacementNhsNumber: null };
    case 'found':
      if (result.person.restricted) return { reason: 'restricted', replacementNhsNumber: null };
      return result.person.deceased ? { reason: 'deceased', replacementNhsNumber: null } : undefined;
    default:
      return undefined;
  }
}
