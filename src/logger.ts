import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

/** Paths redacted wherever they appear, as a second line of defence: no log line should carry them. */
const REDACT = [
  'req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token',
  'nhsNumber', '*.nhsNumber', 'familyName', '*.familyName', 'givenNames', '*.givenNames',
  'birthDate', '*.birthDate', 'postcode', '*.postcode', 'addressLines', '*.addressLines', 'body', '*.body',
];

/** The service's pino logger: JSON lines, redacted at the logger. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'cpis' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

type LoggableError = { type: string; message: string; code?: string; stack?: string };

/**
 * An error as it may be logged. A PostgreSQL error's message can quote the value it choked on
 * (`invalid input syntax for type date: "…"`), which could be a birth date or an NHS number, so
 * database errors are logged by their SQLSTATE code and the call stack only, never their text.
 */
export function errorForLog(error: unknown): LoggableError {
  if (!(error instanceof Error)) return { type: typeof error, message: 'non-Error thrown' };
  const e = error as Error & { code?: unknown; severity?: unknown };
  const fromDatabase = typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (!fromDatabase) return { type: e.name, message: e.message, ...(code ? { code } : {}), stack: e.stack };
  return { type: e.name, message: `PostgreSQL error ${code}`, code, stack: e.stack?.split('\n').slice(1).join('\n') };
}
