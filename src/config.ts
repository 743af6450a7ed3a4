import { BlockList, isIP } from 'node:net';
import { createAjv, compileSchema } from './schemas.ts';
import type { RegistrationMode } from './domain/registry.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type PlanTypeDays = { CPP: number; LAC: number; UCPP: number };

/** The validated, typed and frozen configuration of one instance. */
export type Config = Readonly<{
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string;
  embeddedPgPort: number;
  database: Readonly<{
    /** Connections per pool: general (LA API, mailbox, stream, health), lookups (FHIR only), bulk (uploads, jobs). */
    poolSizes: Readonly<{ general: number; lookups: number; bulk: number }>;
    acquireTimeoutMs: number;
    startupTimeoutMs: number;
    /** The lookup path's read model of the register (adapters/postgres/register-cache.ts); 0 entries: off. */
    registerCache: Readonly<{ maxEntries: number; ttlMs: number }>;
  }>;
  logLevel: LogLevel;
  auth: Readonly<{
    mode: 'dev' | 'jwks';
    jwksUrl: string;
    jwksCooldownSeconds: number;
    issuer: string;
    audience: string;
    algorithms: readonly string[];
    clockSkewSeconds: number;
    /** Longest exp − iat accepted; every token must carry iat. */
    maxTokenLifetimeSeconds: number;
  }>;
  pds: Readonly<{
    mode: 'off' | 'sandbox' | 'live';
    baseUrl: string;
    tokenUrl: string;
    apiKey: string;
    privateKeyFile: string;
    keyId: string;
    timeoutMs: number;
    maxRetries: number;
    backoffMs: number;
    breakerFailures: number;
    breakerCooldownSeconds: number;
    rateLimitPerSecond: number;
    maxConcurrency: number;
    recheckIntervalSeconds: number;
    recheckRatePerSecond: number;
    recheckPollSeconds: number;
  }>;
  /** LA_REGISTRATION, with its NODE_ENV default applied. */
  laRegistration: RegistrationMode;
  rateLimitPerSecond: number;
  uploadMaxBytes: number;
  uploadMaxRecordBytes: number;
  ackMaxListed: number;
  jsonMaxBytes: number;
  shutdownGraceMs: number;
  visibilityDays: Readonly<PlanTypeDays>;
  publicBaseUrl: string;
  stream: Readonly<{
    heartbeatMs: number; ticketTtlSeconds: number; maxFrameBytes: number; sweepMs: number;
    maxConnectionsPerClient: number; maxFramesPerSecond: number;
    maxConnections: number; maxBufferedBytes: number; slowConsumerMs: number;
  }>;
  http: Readonly<{
    maxUrlLength: number; maxHeaderBytes: number; headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number;
    corsOrigins: readonly string[];
  }>;
  retention: Readonly<{ intervalSeconds: number; batchSize: number; notificationDays: number; auditDays: number; unmatchedSearchDays: number; refusalDays: number }>;
  escalation: Readonly<{ intervalSeconds: number; batchSize: number }>;
}>;

type Env = Record<string, string | undefined>;

/** Raised when the environment is invalid; the message lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const ajv = createAjv({ coerceTypes: true, useDefaults: true });
const validate = compileSchema<Record<string, unknown>>(ajv, 'config.schema.json');

const corsOriginsOf = (list: string) => list.split(',').map((o) => o.trim()).filter(Boolean);

/** A CORS origin as browsers send it; anything else (a path, "*", a default port, capitals) would never match one. */
function corsOriginProblem(given: string): string | undefined {
  let origin: string | undefined;
  try {
    const url = new URL(given);
    if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
  } catch {
    // not a URL at all: reported below
  }
  if (origin === given) return undefined;
  const hint = origin ? ` (write it as ${JSON.stringify(origin)})` : '';
  return `CORS_ORIGINS has ${JSON.stringify(given)}, which is not an origin: scheme://host[:port] with http or https, no path, no "*"${hint}`;
}

/** Rules a single property's schema cannot state: limits that depend on each other, and CORS origins. */
function relatedProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const number = (name: string) => (typeof raw[name] === 'number' ? (raw[name] as number) : undefined);
  const [headers, request] = [number('HEADERS_TIMEOUT_SECONDS'), number('REQUEST_TIMEOUT_SECONDS')];
  if (headers !== undefined && request !== undefined && request < headers)
    problems.push(`REQUEST_TIMEOUT_SECONDS (${request}) must be at least HEADERS_TIMEOUT_SECONDS (${headers}): the whole request includes its headers`);
  const [url, header] = [number('MAX_URL_LENGTH'), number('MAX_HEADER_BYTES')];
  if (url !== undefined && header !== undefined && url >= header)
    problems.push(`MAX_URL_LENGTH (${url}) must be less than MAX_HEADER_BYTES (${header}): the URL counts towards the header limit`);
  for (const origin of typeof raw.CORS_ORIGINS === 'string' ? corsOriginsOf(raw.CORS_ORIGINS) : []) {
    const problem = corsOriginProblem(origin);
    if (problem) problems.push(problem);
  }
  return problems;
}

// The development defaults of the token claims: a production instance that kept them would accept
// tokens minted for any dev instance (npm run token, the console's sign-in).
const DEV_ISSUER = 'urn:cpis:dev';
const DEV_AUDIENCE = 'cpis';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** A HOST that only this machine can reach: 127.0.0.0/8, ::1 (in any spelling) or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

const isHttps = (value: unknown) => typeof value === 'string' && value.startsWith('https://');

/**
 * Fail closed (README, Security): production is chosen by NODE_ENV=production alone, and refuses the
 * development defaults; anything else is a development instance, which listens on loopback only.
 */
function deploymentProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (raw.NODE_ENV !== 'production') {
    const host = raw.HOST;
    if (typeof host === 'string' && !isLoopbackHost(host))
      problems.push(
        `HOST=${host} is only allowed with NODE_ENV=production: a development instance (NODE_ENV=${String(raw.NODE_ENV)}) listens on loopback only ` +
          '(127.0.0.1, ::1 or localhost), because its dev sign-in and dev tokens let anyone who reaches it act as any LA',
      );
    return problems;
  }
  if (raw.AUTH_MODE !== 'jwks')
    problems.push('AUTH_MODE is unset or dev: NODE_ENV=production refuses dev tokens (a local key, the console\'s sign-in as any LA); set AUTH_MODE=jwks and AUTH_JWKS_URL');
  if (typeof raw.AUTH_JWKS_URL === 'string' && raw.AUTH_JWKS_URL !== '' && !isHttps(raw.AUTH_JWKS_URL))
    problems.push('AUTH_JWKS_URL must be an https:// URL with NODE_ENV=production: keys fetched over plain HTTP can be replaced on the way');
  if (raw.AUTH_ISSUER === DEV_ISSUER)
    problems.push(`AUTH_ISSUER is unset or the development default (${DEV_ISSUER}): with NODE_ENV=production set it to your identity provider's issuer`);
  if (raw.AUTH_AUDIENCE === DEV_AUDIENCE)
    problems.push(`AUTH_AUDIENCE is unset or the development default (${DEV_AUDIENCE}): with NODE_ENV=production set it to the audience your identity provider issues for this service`);
  if (raw.PUBLIC_BASE_URL === '' || raw.PUBLIC_BASE_URL === undefined)
    problems.push("PUBLIC_BASE_URL is required with NODE_ENV=production (the https:// URL clients use): FHIR fullUrls must never follow a request's Host header");
  else if (typeof raw.PUBLIC_BASE_URL === 'string' && !isHttps(raw.PUBLIC_BASE_URL))
    problems.push('PUBLIC_BASE_URL must be an https:// URL with NODE_ENV=production: clients reach the service through TLS');
  return problems;
}

/** Validates the environment against schemas/config.schema.json and returns a frozen Config. */
export function loadConfig(env: Env = process.env): Config {
  // An empty variable means "not set", so its default applies.
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') raw[key] = value;
  const valid = validate(raw);
  const related = [...relatedProblems(raw), ...deploymentProblems(raw)];
  if (!valid || related.length) {
    const problems = (validate.errors ?? [])
      .filter((e) => e.keyword !== 'if')
      .map((e) => {
        const params = e.params as { missingProperty?: string };
        if (e.keyword === 'required') return `${params.missingProperty} is required with the chosen modes (see .env.example)`;
        const name = e.instancePath.replace(/^\//, '') || 'environment';
        const given = name in raw ? ` (got ${JSON.stringify(String(raw[name]))})` : '';
        return `${name} ${e.message ?? 'is invalid'}${given}`;
      });
    throw new ConfigError([...new Set([...problems, ...related])]);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- shape guaranteed by the schema just checked
  const v = raw as Record<string, any>;
  return Object.freeze({
    nodeEnv: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    dataDir: v.DATA_DIR,
    databaseUrl: v.DATABASE_URL,
    embeddedPgPort: v.EMBEDDED_PG_PORT,
    database: Object.freeze({
      poolSizes: Object.freeze({ general: v.DB_POOL_SIZE, lookups: v.DB_LOOKUP_POOL_SIZE, bulk: v.DB_BULK_POOL_SIZE }),
      registerCache: Object.freeze({ maxEntries: v.REGISTER_CACHE_ENTRIES, ttlMs: v.REGISTER_CACHE_TTL_SECONDS * 1000 }),
      acquireTimeoutMs: v.DB_ACQUIRE_TIMEOUT_MS,
      startupTimeoutMs: v.DATABASE_STARTUP_TIMEOUT_SECONDS * 1000,
    }),
    logLevel: v.LOG_LEVEL,
    auth: Object.freeze({
      mode: v.AUTH_MODE,
      jwksUrl: v.AUTH_JWKS_URL,
      jwksCooldownSeconds: v.AUTH_JWKS_COOLDOWN_SECONDS,
      issuer: v.AUTH_ISSUER,
      audience: v.AUTH_AUDIENCE,
      algorithms: Object.freeze((v.AUTH_ALGORITHMS as string).split(',')),
      clockSkewSeconds: v.AUTH_CLOCK_SKEW_SECONDS,
      maxTokenLifetimeSeconds: v.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
    }),
    pds: Object.freeze({
      mode: v.PDS_MODE,
      baseUrl: v.PDS_BASE_URL,
      tokenUrl: v.PDS_TOKEN_URL,
      apiKey: v.PDS_API_KEY,
      privateKeyFile: v.PDS_PRIVATE_KEY_FILE,
      keyId: v.PDS_KEY_ID,
      timeoutMs: v.PDS_TIMEOUT_MS,
      maxRetries: v.PDS_MAX_RETRIES,
      backoffMs: v.PDS_BACKOFF_MS,
      breakerFailures: v.PDS_BREAKER_FAILURES,
      breakerCooldownSeconds: v.PDS_BREAKER_COOLDOWN_SECONDS,
      rateLimitPerSecond: v.PDS_RATE_LIMIT_PER_SECOND,
      maxConcurrency: v.PDS_MAX_CONCURRENCY,
      recheckIntervalSeconds: v.PDS_RECHECK_INTERVAL_SECONDS,
      recheckRatePerSecond: v.PDS_RECHECK_RATE_PER_SECOND,
      recheckPollSeconds: v.PDS_RECHECK_POLL_SECONDS,
    }),
    laRegistration: v.LA_REGISTRATION || (v.NODE_ENV === 'production' ? 'required' : 'open'),
    rateLimitPerSecond: v.RATE_LIMIT_PER_SECOND,
    uploadMaxBytes: v.UPLOAD_MAX_BYTES,
    uploadMaxRecordBytes: v.UPLOAD_MAX_RECORD_BYTES,
    ackMaxListed: v.ACK_MAX_LISTED,
    jsonMaxBytes: v.JSON_MAX_BYTES,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
    visibilityDays: Object.freeze({ CPP: v.VISIBILITY_DAYS_CPP, LAC: v.VISIBILITY_DAYS_LAC, UCPP: v.VISIBILITY_DAYS_UCPP }),
    publicBaseUrl: v.PUBLIC_BASE_URL,
    stream: Object.freeze({
      heartbeatMs: v.STREAM_HEARTBEAT_SECONDS * 1000,
      ticketTtlSeconds: v.STREAM_TICKET_TTL_SECONDS,
      maxFrameBytes: v.STREAM_MAX_FRAME_BYTES,
      sweepMs: v.OUTBOX_SWEEP_MS,
      maxConnectionsPerClient: v.STREAM_MAX_CONNECTIONS_PER_CLIENT,
      maxFramesPerSecond: v.STREAM_MAX_FRAMES_PER_SECOND,
      maxConnections: v.STREAM_MAX_CONNECTIONS,
      maxBufferedBytes: v.STREAM_MAX_BUFFERED_BYTES,
      slowConsumerMs: v.STREAM_SLOW_CONSUMER_SECONDS * 1000,
    }),
    http: Object.freeze({
      maxUrlLength: v.MAX_URL_LENGTH,
      maxHeaderBytes: v.MAX_HEADER_BYTES,
      headersTimeoutMs: v.HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: v.REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: v.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      corsOrigins: Object.freeze(corsOriginsOf(v.CORS_ORIGINS as string)),
    }),
    retention: Object.freeze({
      intervalSeconds: v.RETENTION_INTERVAL_SECONDS,
      batchSize: v.RETENTION_BATCH_SIZE,
      notificationDays: v.NOTIFICATION_RETENTION_DAYS,
      auditDays: v.AUDIT_RETENTION_DAYS,
      unmatchedSearchDays: v.UNMATCHED_SEARCH_RETENTION_DAYS,
      refusalDays: v.REFUSAL_RETENTION_DAYS,
    }),
    escalation: Object.freeze({ intervalSeconds: v.ESCALATION_INTERVAL_SECONDS, batchSize: v.ESCALATION_BATCH_SIZE }),
  });
}
