import type pg from 'pg';
import type { NotBroughtStore } from '../../src/ports.ts';
import { insertAudit, insertUnmatchedSearch } from './audit.ts';
import { queueNotifications } from './outbox.ts';
import { inTransaction } from './pool.ts';

/**
 * Reports that a child was not brought, in PostgreSQL: the notifications through the outbox (its
 * counter locks in LA-code order, as record_accesses() takes them), then the audit row, last, since
 * the chain lane it takes stays locked until commit (audit.ts). The accesses table is not touched.
 */
export function createPostgresNotBroughtStore(pool: pg.Pool): NotBroughtStore {
  return {
    async record(audit, trail, notifications) {
      const client = await pool.connect();
      try {
        return await inTransaction(client, async () => {
          const { nhsNumber } = audit;
          if (notifications.length && nhsNumber === null) throw new Error('a was-not-brought notification needs the audit row\'s NHS number');
          const queued = nhsNumber === null ? [] : await queueNotifications(client, 'was-not-brought', audit.at, notifications.map((n) => ({ ...n, nhsNumber })));
          const entry = queued.length ? { ...audit, detail: { ...audit.detail, notified: queued } } : audit;
          await (trail === 'unmatched' ? insertUnmatchedSearch : insertAudit)(client, entry);
          return queued;
        });
      } finally {
        client.release();
      }
    },
  };
}
