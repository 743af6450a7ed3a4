import { Gauge, type Registry } from 'prom-client';
import type { FeedHealthReading } from '../../src/domain/registry.ts';

type LaFeed = FeedHealthReading[number];

/**
 * The health of each LA's feed (README, The LA registry), whole service, by LA code: counts, codes,
 * instants and ages, never anything of a child. Every gauge reads the same reading of a scrape;
 * during a database outage they are absent.
 */
export function addFeedHealthGauges(registry: Registry, feedHealth: (() => Promise<FeedHealthReading>) | undefined): void {
  const laGauge = (name: string, help: string, set: (gauge: Gauge, la: LaFeed) => void, labelNames = ['la']) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      async collect() {
        this.reset();
        const reading = await (feedHealth?.() ?? Promise.resolve([])).catch(() => []);
        for (const la of reading) set(this, la);
      },
    });
  laGauge('cpis_la_last_upload_timestamp_seconds', 'When the LA\'s last accepted batch was received (unix seconds, by the service\'s clock); absent before its first', (g, la) => {
    if (la.health.lastUpload) g.set({ la: la.code }, la.health.lastUpload.receivedAt.getTime() / 1000);
  });
  laGauge('cpis_la_last_upload_age_seconds', 'Seconds since the LA\'s last accepted batch, by the service\'s clock (what CpisLaFeedStale alerts on); absent before its first', (g, la) => {
    if (la.health.lastUpload) g.set({ la: la.code }, la.health.lastUpload.ageSeconds);
  });
  laGauge('cpis_la_plans_held', 'Plans held for the LA, ended ones in their window included', (g, la) => g.set({ la: la.code }, la.health.plansHeld));
  laGauge('cpis_la_pds_verified_ratio', 'Share (0 to 1) of the LA\'s plans whose demographics PDS confirmed; absent when it holds none', (g, la) => {
    if (la.health.pdsVerifiedRatio !== null) g.set({ la: la.code }, la.health.pdsVerifiedRatio);
  });
  laGauge('cpis_la_last_batch_refusals', 'Records the LA\'s last accepted batch refused, by result (CPR code) and detail code', (g, la) => {
    for (const { result, code, count } of la.health.lastUpload?.refusals ?? []) g.set({ la: la.code, result, code }, count);
  }, ['la', 'result', 'code']);
  laGauge('cpis_la_suspended', '1 while operators have suspended the LA (its uploads are refused, its plans still served), 0 otherwise', (g, la) => {
    g.set({ la: la.code }, la.standing.status === 'suspended' ? 1 : 0);
  });
  laGauge('cpis_notifications_oldest_unacknowledged_seconds', 'Age of the LA\'s oldest notification not yet acknowledged, of any type, by the service\'s clock; absent when none waits', (g, la) => {
    if (la.health.oldestUnacknowledgedSeconds !== null) g.set({ la: la.code }, la.health.oldestUnacknowledgedSeconds);
  });
}
