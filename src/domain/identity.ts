/** Roles a token may carry (api.md, Identity). */
export const ROLES = ['clinician', 'la-system', 'social-worker', 'ops'] as const;
export type Role = (typeof ROLES)[number];

/** NHS national RBAC activity codes the service understands. */
export const ACTIVITY = { viewAndNotify: 'B0107', silentRead: 'B0170' } as const;

/** Who is calling, taken from a verified token. */
export type Identity = Readonly<{
  sub: string;
  name: string;
  role: Role;
  org: string;
  orgName: string;
  setting: string | undefined;
  activities: readonly string[];
}>;

/** Roles that act for a local authority: their org claim is the LA's code. */
export const LA_ROLES: readonly Role[] = ['la-system', 'social-worker'];
