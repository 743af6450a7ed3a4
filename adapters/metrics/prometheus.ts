import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedHealthReading } from '../../src/domain/registry.ts';
import type { Metrics } from '../../src/ports.ts';
import { addFeedHealthGauges } from './feed-health-gauges.ts';

/** One database pool's state as Prometheus reports it. */
export type PoolStats = { name: string; total: number; idle: number; waiting: number };

/** Prometheus metrics on a registry of this instance's own (never the global one). */
export function createPrometheusMetrics(deps: {
  unacknowledgedByLa: () => Promise<Map<string, number>>;
  /** Seconds the oldest alert still waiting for acknowledgement has waited, by LA. */
  oldestWaitingAlertSecondsByLa?: () => Promise<Map<string, number>>;
  pools?: () => PoolStats[];
  listenerConnected?: () => boolean;
  /** Whether this instance can serve: the checks of /health/ready. */
  ready?: () => Promise<boolean>;
  /** Each LA's standing and feed health, read once per scrape (every gauge of it shares the reading). */
  feedHealth?: () => Promise<FeedHealthReading>;
  /** Whether the PDS circuit breaker stops calls now; false or undefined when there is none (PDS_MODE off or sandbox). */
  pdsCircuitOpen?: () => boolean | undefined;
  /** The lookup path's read model of the register: NHS numbers held, and reads served from memory (hits) or the database (misses). */
  registerCache?: () => { entries: number; hits: number; misses: number };
}): Metrics {
  const registry = new Registry();
  // Process metrics, including nodejs_eventloop_lag_* (event-loop delay).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const requests = new Counter({ name: 'cpis_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'cpis_http_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
  });
  const lookups = new Counter({ name: 'cpis_lookups_total', help: 'Care-setting searches by resource, kind of read and outcome', labelNames: ['resource', 'kind', 'outcome'], registers: [registry] });
  const created = new Counter({ name: 'cpis_notifications_created_total', help: 'Notifications queued by this instance, by LA', labelNames: ['la'], registers: [registry] });
  const delivered = new Counter({ name: 'cpis_notifications_delivered_total', help: 'Notification frames sent by this instance, by LA', labelNames: ['la'], registers: [registry] });
  const lag = new Histogram({
    name: 'cpis_outbox_lag_seconds', help: 'Time from a notification being committed to its frame being sent',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30], registers: [registry],
  });
  const retention = new Counter({ name: 'cpis_retention_rows_total', help: 'Rows the retention jobs of this instance ended or purged, by kind', labelNames: ['kind'], registers: [registry] });
  const escalated = new Counter({
    name: 'cpis_alerts_escalated_total', help: 'Escalation notifications this instance queued for alerts nobody acknowledged in time, by LA', labelNames: ['la'], registers: [registry],
  });
  const sockets = new Gauge({ name: 'cpis_open_sockets', help: 'Notification stream sockets open on this instance', registers: [registry] });
  new Gauge({
    name: 'cpis_notifications_unacknowledged', help: 'Notifications not yet acknowledged, by LA (whole service)', labelNames: ['la'], registers: [registry],
    async collect() {
      this.reset();
      // During a database outage the metrics still answer (that is when they are needed): this series is then absent.
      const counts = await deps.unacknowledgedByLa().catch(() => new Map<string, number>());
      for (const [la, n] of counts) this.set({ la }, n);
    },
  });
  new Gauge({
    name: 'cpis_alerts_oldest_unacknowledged_seconds', labelNames: ['la'], registers: [registry],
    help: 'Age of the oldest alert (access or was-not-brought, routed to a duty team) not yet acknowledged, by LA (whole service); absent when none waits',
    async collect() {
      this.reset();
      const ages = await (deps.oldestWaitingAlertSecondsByLa?.() ?? Promise.resolve(new Map<string, number>())).catch(() => new Map<string, number>());
      for (const [la, seconds] of ages) this.set({ la }, seconds);
    },
  });
  const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    new Gauge({
      name, help, labelNames: ['pool'], registers: [registry],
      async collect() {
        // Read after the scrape's own query (the unacknowledged gauge) has been given its connection,
        // so that the scrape does not count itself as waiting.
        await new Promise((resolve) => setImmediate(resolve));
        for (const stats of deps.pools?.() ?? []) this.set({ pool: stats.name }, pick(stats));
      },
    });
  poolGauge('cpis_db_pool_connections', 'PostgreSQL connections open in each pool of this instance (general, lookups, bulk)', (s) => s.total);
  poolGauge('cpis_db_pool_idle', 'Open PostgreSQL connections not in use, by pool', (s) => s.idle);
  poolGauge('cpis_db_pool_waiting', 'Requests waiting for a PostgreSQL connection, by pool; above 0 for long, the pool is too small or the database too slow', (s) => s.waiting);
  new Gauge({
    name: 'cpis_outbox_listener_connected', help: '1 while this instance LISTENs for outbox wake-ups; 0 while it reconnects', registers: [registry],
    collect() {
      this.set(deps.listenerConnected?.() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cpis_ready', help: '1 while this instance is ready to serve (the checks of /health/ready), 0 otherwise', registers: [registry],
    async collect() {
      this.set((await (deps.ready?.() ?? Promise.resolve(false)).catch(() => false)) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cpis_pds_circuit_open', help: '1 while the PDS circuit breaker stops calls (open, or half-open awaiting its probe), 0 while closed or with no breaker (PDS_MODE off or sandbox)',
    registers: [registry],
    collect() {
      this.set(deps.pdsCircuitOpen?.() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cpis_register_cache_entries', help: 'NHS numbers whose register read this instance holds in memory (REGISTER_CACHE_ENTRIES at most)', registers: [registry],
    collect() {
      this.set(deps.registerCache?.().entries ?? 0);
    },
  });
  new Counter({
    name: 'cpis_register_cache_reads_total', labelNames: ['result'], registers: [registry],
    help: 'Register reads of the lookup path on this instance: hit, served from memory; miss, read from the database',
    collect() {
      const stats = deps.registerCache?.();
      this.reset();
      this.inc({ result: 'hit' }, stats?.hits ?? 0);
      this.inc({ result: 'miss' }, stats?.misses ?? 0);
    },
  });
  addFeedHealthGauges(registry, deps.feedHealth);
  return {
    requestObserved(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
    lookupObserved: (resource, kind, outcome) => lookups.inc({ resource, kind, outcome }),
    notificationsCreated: (la, count) => created.inc({ la }, count),
    notificationDelivered(la, lagSeconds) {
      delivered.inc({ la });
      lag.observe(Math.max(0, lagSeconds));
    },
    socketsChanged: (delta) => sockets.inc(delta),
    retentionApplied: (kind, count) => retention.inc({ kind }, count),
    alertsEscalated: (la, count) => escalated.inc({ la }, count),
    exposition: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
