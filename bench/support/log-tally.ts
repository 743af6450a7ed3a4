import type { LogEntry } from './child-service.ts';

/** What one instance said that a fault benchmark reports: counts only, never a line's fields. */
export type LogCounts = {
  listenerReconnectFailed: number;
  listenerReconnected: number;
  listenerLost: number;
  status500: number;
  /** pino level ≥ 50 (error, fatal), by message, with the status and error code when the line has them. */
  errors: Record<string, number>;
  /** pino level 40 (warn), the same way. */
  warnings: Record<string, number>;
};

const WARN = 40;
const ERROR = 50;

/** "message (status, code)": both are the service's own labels (an HTTP status, a Node or PostgreSQL error code). */
function labelOf(entry: LogEntry, msg: string): string {
  const status = (entry.res as { statusCode?: unknown } | undefined)?.statusCode ?? entry.status;
  const code = (entry.err as { code?: unknown } | undefined)?.code ?? entry.code;
  const details = [status, code].filter((d) => typeof d === 'number' || (typeof d === 'string' && /^[\w.-]{1,40}$/.test(d)));
  return details.length ? `${msg} (${details.join(', ')})` : msg;
}

const bump = (counts: Record<string, number>, key: string) => void (counts[key] = (counts[key] ?? 0) + 1);

/**
 * Counts log lines as they arrive. The messages are the service's own constant strings (its logs
 * carry no patient data), cut short all the same so a surprise can never flood the summary.
 */
export function createLogTally(): { onLog(entry: LogEntry): void; counts(): LogCounts } {
  const counts: LogCounts = { listenerReconnectFailed: 0, listenerReconnected: 0, listenerLost: 0, status500: 0, errors: {}, warnings: {} };
  return {
    onLog(entry) {
      const msg = typeof entry.msg === 'string' ? entry.msg.slice(0, 80) : '(no message)';
      if (msg === 'listener reconnect failed') counts.listenerReconnectFailed++;
      if (msg === 'listener reconnected') counts.listenerReconnected++;
      if (msg.startsWith('listener connection lost')) counts.listenerLost++;
      if ((entry.res as { statusCode?: unknown } | undefined)?.statusCode === 500) counts.status500++;
      const level = typeof entry.level === 'number' ? entry.level : 0;
      if (level >= ERROR) bump(counts.errors, labelOf(entry, msg));
      else if (level >= WARN) bump(counts.warnings, labelOf(entry, msg));
    },
    counts: () => structuredClone(counts),
  };
}
