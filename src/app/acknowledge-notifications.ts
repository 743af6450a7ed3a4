import type { Identity } from '../domain/identity.ts';
import type { AckSelector, Clock, NotificationStore } from '../ports.ts';

/**
 * An LA worker or system acknowledges its own LA's notifications, over HTTP or the stream; who and when
 * are recorded, and audited in the same transaction.
 */
export function createAcknowledgeNotifications(deps: { notifications: NotificationStore; clock: Clock }) {
  return async function acknowledgeNotifications(identity: Identity, selector: AckSelector, requestId: string): Promise<{ acknowledged: number[] }> {
    const acknowledged = await deps.notifications.acknowledge(identity.org, selector, {
      at: deps.clock.now(), action: 'acknowledge', outcome: 'ok', identity, nhsNumber: null, unscheduled: null, requestId,
    });
    return { acknowledged };
  };
}
