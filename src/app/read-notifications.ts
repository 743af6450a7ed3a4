import type { Identity } from '../domain/identity.ts';
import type { Notification } from '../domain/notification.ts';
import type { NotificationAck, NotificationFilter, NotificationSearch, NotificationStore } from '../ports.ts';

/** What the mailbox is asked for: the next page after a number (in order), or a search of older ones (newest first). */
export type MailboxQuery = ({ after: number } | Omit<NotificationSearch, 'limit'>) & NotificationFilter & { limit: number };

const isSearch = (q: MailboxQuery): q is NotificationSearch =>
  'before' in q || 'nhsNumber' in q || 'name' in q;

/**
 * An LA's mailbox page: its own notifications after an event number, in order (for a case system
 * to poll), or found by number, child or name, newest first (for a duty worker looking back).
 */
export function createReadNotifications(deps: { notifications: NotificationStore }) {
  return async function readNotifications(identity: Identity, query: MailboxQuery): Promise<{ notifications: Notification[]; lastEventNumber: number }> {
    const filter: NotificationFilter = query.team !== undefined ? { team: query.team } : {};
    const [notifications, lastEventNumber] = await Promise.all([
      isSearch(query)
        ? deps.notifications.search(identity.org, query)
        : deps.notifications.list(identity.org, 'after' in query ? query.after : 0, query.limit, filter),
      deps.notifications.lastEventNumber(identity.org),
    ]);
    return { notifications, lastEventNumber };
  };
}

/** The acknowledgements made in an LA after an acknowledgement number, oldest first: for a case system to mirror acks made on the console. */
export function createReadAcknowledgements(deps: { notifications: NotificationStore }) {
  return async function readAcknowledgements(identity: Identity, after: number, limit: number): Promise<{ acknowledgements: NotificationAck[]; lastAckNumber: number }> {
    const [acknowledgements, counters] = await Promise.all([
      deps.notifications.acknowledgementsAfter(identity.org, after, limit),
      deps.notifications.counters(identity.org),
    ]);
    return { acknowledgements, lastAckNumber: counters.lastAckNumber };
  };
}
