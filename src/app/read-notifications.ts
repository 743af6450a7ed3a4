import type { Identity } from '../domain/identity.ts';
import type { Notification } from '../domain/notification.ts';
import type { NotificationStore } from '../ports.ts';

/** An LA's mailbox page: its own notifications after an event number, in order. */
export function createReadNotifications(deps: { notifications: NotificationStore }) {
  return async function readNotifications(identity: Identity, after: number, limit: number): Promise<{ notifications: Notification[]; lastEventNumber: number }> {
    const [notifications, lastEventNumber] = await Promise.all([
      deps.notifications.list(identity.org, after, limit),
      deps.notifications.lastEventNumber(identity.org),
    ]);
    return { notifications, lastEventNumber };
  };
}
