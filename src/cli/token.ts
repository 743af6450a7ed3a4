import { parseArgs } from 'node:util';
import type { ErrorObject } from 'ajv';
import { loadConfig } from '../config.ts';
import { compileSchema, createAjv } from '../schemas.ts';
import { loadOrCreateDevKey, mintDevToken, type TokenClaims } from '../../adapters/auth/dev-keys.ts';
import { CliError, EXIT, runCli } from './operator-tool.ts';

const USAGE =
  'usage: npm run --silent token -- --role <clinician|la-system|social-worker|ops> --org <code> ' +
  '[--sub <id>] [--name <n>] [--org-name <n>] [--setting <kind>] [--activity B0107]... [--ttl 3600] ' +
  '[--sds-user-id <12 digits>] [--role-profile-id <12 digits>] [--job-role R8000] [--job-role-name <n>] [--team <code>]...';

// The claims the service requires of every token, from the schema it verifies them with: a token
// minted here that the service would then refuse is a wrong call, told now rather than as a 401 later.
const validateClaims = compileSchema<TokenClaims & { exp: number }>(createAjv(), 'token-claims.schema.json');

/** The option each claim comes from, to name what to change. */
const OPTION_OF: Record<string, string> = {
  sub: '--sub', name: '--name', role: '--role', org: '--org', org_name: '--org-name', setting: '--setting',
  activities: '--activity', sds_user_id: '--sds-user-id', sds_role_profile_id: '--role-profile-id',
  job_role_code: '--job-role', job_role_name: '--job-role-name', teams: '--team', exp: '--ttl',
};

const usage = (message: string) => new CliError(`${message}\n${USAGE}`, EXIT.usage);

/** One line per failing option: what it must be, the allowed values of an enum listed. Never the value given. */
function problemOf(error: ErrorObject): string {
  const [claim = '', index] = error.instancePath.split('/').slice(1);
  const option = `${OPTION_OF[claim] ?? claim}${index === undefined ? '' : ` (number ${Number(index) + 1})`}`;
  const params = error.params as { allowedValues?: unknown[]; pattern?: string; limit?: number };
  if (error.keyword === 'enum') return `${option} must be one of: ${(params.allowedValues ?? []).join(', ')}`;
  if (error.keyword === 'pattern') return `${option} must match ${params.pattern}`;
  if (error.keyword === 'minLength') return `${option} must not be empty`;
  return `${option} ${error.message ?? 'is not valid'}`;
}

function parse() {
  try {
    return parseArgs({
      options: {
        role: { type: 'string' },
        org: { type: 'string' },
        sub: { type: 'string' },
        name: { type: 'string' },
        'org-name': { type: 'string' },
        setting: { type: 'string' },
        activity: { type: 'string', multiple: true },
        ttl: { type: 'string', default: '3600' },
        'sds-user-id': { type: 'string' },
        'role-profile-id': { type: 'string' },
        'job-role': { type: 'string' },
        'job-role-name': { type: 'string' },
        team: { type: 'string', multiple: true },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw usage((error as Error).message);
  }
}

async function main(): Promise<void> {
  const values = parse();
  const config = loadConfig();
  if (config.auth.mode !== 'dev') throw new CliError('tokens can only be minted in AUTH_MODE=dev; in jwks mode they come from your identity provider', EXIT.config);
  if (!values.role || !values.org) throw usage('--role and --org are required');
  const ttl = Number(values.ttl);
  const maxTtl = config.auth.maxTokenLifetimeSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTtl) throw usage(`--ttl must be 1 to ${maxTtl} seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS): the service refuses longer-lived tokens`);
  const role = values.role;
  const activities = values.activity ?? (role === 'clinician' ? ['B0107'] : undefined);
  const claims: TokenClaims = {
    sub: values.sub ?? `${role}-${values.org.toLowerCase()}`,
    role,
    org: values.org,
    name: values.name ?? `Demo ${role}`,
    org_name: values['org-name'] ?? values.org,
    ...(values.setting ? { setting: values.setting } : role === 'clinician' ? { setting: 'emergency-department' } : {}),
    ...(activities ? { activities } : {}),
    ...(values['sds-user-id'] ? { sds_user_id: values['sds-user-id'] } : {}),
    ...(values['role-profile-id'] ? { sds_role_profile_id: values['role-profile-id'] } : {}),
    ...(values['job-role'] ? { job_role_code: values['job-role'] } : {}),
    ...(values['job-role-name'] ? { job_role_name: values['job-role-name'] } : {}),
    ...(values.team ? { teams: values.team } : {}),
  };
  if (!validateClaims({ ...claims, exp: Math.floor(Date.now() / 1000) + ttl })) {
    const problems = [...new Set((validateClaims.errors ?? []).map(problemOf))];
    throw usage(`the service would refuse this token (schemas/token-claims.schema.json):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  const key = await loadOrCreateDevKey(config.dataDir);
  const token = await mintDevToken(key, claims, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: ttl });
  process.stdout.write(`${token}\n`);
}

await runCli(main, { failure: 'token failed', failureCode: EXIT.software });
