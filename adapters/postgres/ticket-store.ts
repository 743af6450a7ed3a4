import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Identity } from '../../src/domain/identity.ts';
import type { TicketStore } from '../../src/ports.ts';

const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest();

/** Single-use stream tickets in PostgreSQL, so a ticket from one instance works on any other. */
export function createPostgresTicketStore(pool: pg.Pool): TicketStore {
  return {
    async issue(identity, at, ttlSeconds) {
      const ticket = randomBytes(32).toString('base64url');
      const expiresAt = new Date(at.getTime() + ttlSeconds * 1000);
      await pool.query('DELETE FROM stream_tickets WHERE expires_at < $1', [at]);
      await pool.query('INSERT INTO stream_tickets (ticket_hash, identity, expires_at) VALUES ($1, $2, $3)', [hashOf(ticket), JSON.stringify(identity), expiresAt]);
      return { ticket, expiresAt: expiresAt.toISOString() };
    },
    async redeem(ticket, at) {
      const { rows } = await pool.query<{ identity: Identity; expires_at: Date }>(
        'DELETE FROM stream_tickets WHERE ticket_hash = $1 RETURNING identity, expires_at',
        [hashOf(ticket)],
      );
      const row = rows[0];
      return row && row.expires_at > at ? Object.freeze(row.identity) : undefined;
    },
  };
}
