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
