import type { Identity } from '../domain/identity.ts';
import type { Clock, TicketStore } from '../ports.ts';

/** A browser trades its token for a single-use ticket, so no long-lived token ever sits in a URL. */
export function createIssueStreamTicket(deps: { tickets: TicketStore; clock: Clock; ttlSeconds: number }) {
  return async function issueStreamTicket(identity: Identity): Promise<{ ticket: string; expiresAt: string }> {
    return deps.tickets.issue(identity, deps.clock.now(), deps.ttlSeconds);
  };
}
