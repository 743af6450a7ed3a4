/** Roles a token may carry (README, Identity). */
export const ROLES = ['clinician', 'la-system', 'social-worker', 'ops'] as const;
export type Role = (typeof ROLES)[number];

/** NHS national RBAC activity codes the service understands. */
export const ACTIVITY = { viewAndNotify: 'B0107', silentRead: 'B0170' } as const;

/** A national RBAC job role (the R code of SDS, e.g. R8000) and its name when the token gives it. */
export type JobRole = Readonly<{ code: string; name: string | undefined }>;

/**
 * Who is calling, taken from a verified token. The national identity (SDS user id, role profile id,
 * job role) is there when the identity provider gives it (NHS CIS2 does): it is what an LA can act on.
 */
export type Identity = Readonly<{
  sub: string;
  name: string;
  role: Role;
  org: string;
  orgName: string;
  setting: string | undefined;
  activities: readonly string[];
  sdsUserId?: string;
  sdsRoleProfileId?: string;
  jobRole?: JobRole;
  /** The LA duty teams a social worker belongs to (token claim `teams`); empty when the token names none. */
  teams?: readonly string[];
}>;

/** The identity an operator's command-line tool acts as, in the audit trail: the operator by name, for the service itself. */
export const operatorIdentity = (operator: string): Identity => ({
  sub: operator, name: operator, role: 'ops', org: 'cpis-operator', orgName: 'Service operator', setting: undefined, activities: [],
});

/** Roles that act for a local authority: their org claim is the LA's code. */
export const LA_ROLES: readonly Role[] = ['la-system', 'social-worker'];
