import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { loadOrCreateDevKey, mintDevToken } from '../../adapters/auth/dev-keys.ts';

const USAGE =
  'usage: npm run --silent token -- --role <clinician|la-system|social-worker|ops> --org <code> ' +
  '[--sub <id>] [--name <n>] [--org-name <n>] [--setting <kind>] [--activity B0107]... [--ttl 3600] ' +
  '[--sds-user-id <12 digits>] [--role-profile-id <12 digits>] [--job-role R8000] [--job-role-name <n>]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
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
      },
      strict: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

let config;
try {
  config = loadConfig();
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error));
}
if (config.auth.mode !== 'dev') fail('tokens can only be minted in AUTH_MODE=dev; in jwks mode they come from your identity provider');
if (!values.role || !values.org) fail('--role and --org are required');
const ttl = Number(values.ttl);
const maxTtl = config.auth.maxTokenLifetimeSeconds;
if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTtl) fail(`--ttl must be 1 to ${maxTtl} seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS): the service refuses longer-lived tokens`);
const role = values.role;
const activities = values.activity ?? (role === 'clinician' ? ['B0107'] : undefined);

const key = await loadOrCreateDevKey(config.dataDir);
const token = await mintDevToken(
  key,
  {
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
  },
  { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: ttl },
);
process.stdout.write(`${token}\n`);
