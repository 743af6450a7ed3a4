import type { Identity } from '../domain/identity.ts';
import type { AckSelector, Clock, LookupStore, NotificationStore } from '../ports.ts';

/** An LA worker or system acknowledges its own LA's notifications; who and when are recorded and audited. */
export function createAcknowledgeNotifications(deps: { notifications: NotificationStore; audit: Pick<LookupStore, 'recordAudit'>; clock: Clock }) {
  return async function acknowledgeNotifications(identity: Identity, selector: AckSelector, requestId: string): Promise<{ acknowledged: number[] }> {
    const at = deps.clock.now();
    const acknowledged = await deps.notifications.acknowledge(identity.org, selector, identity.sub, at);
    await deps.audit.recordAudit({
      at, action: 'acknowledge', outcome: 'ok', identity, nhsNumber: null, unscheduled: null, requestId,
      detail: { eventNumbers: acknowledged },
    });
    return { acknowledged };
  };
}
