import type pg from 'pg';
import { ALERT_TYPES } from '../../src/domain/escalation.ts';
import type { NotificationType } from '../../src/domain/notification.ts';
import { noUsage, type UsageFigures } from '../../src/domain/usage-report.ts';
import type { UsageStore } from '../../src/ports.ts';

// Every query takes $1 from, $2 to, $3 the LA (null: every LA), and groups by LA and over all LAs
// together: `total` is 1 on the rows over all LAs (GROUPING), whose la_code is then null.
const IN_RANGE = `occurred_at >= $1 AND occurred_at < $2 AND ($3::text IS NULL OR la_code = $3)`;

// Unscheduled accesses: each LA's `access` notifications, one per access to a child it holds a plan of
// (written with the access, in its transaction), carrying who looked, from where. The accesses table
// holds the same accesses without the LA, and no longer than the child's plans.
const BY_SETTING = `
SELECT la_code, GROUPING(la_code) AS total, setting, count(*)::int AS count
FROM (SELECT la_code, body->'accessedBy'->>'setting' AS setting FROM notifications WHERE type = 'access' AND ${IN_RANGE}) n
GROUP BY GROUPING SETS ((la_code, setting), (setting))`;

// An organisation is named as its latest access in the month named it.
const BY_ORGANISATION = `
SELECT la_code, GROUPING(la_code) AS total, code, (array_agg(name ORDER BY occurred_at DESC))[1] AS name, count(*)::int AS count
FROM (SELECT la_code, occurred_at, coalesce(body->'accessedBy'->>'organisationCode', '') AS code,
             coalesce(body->'accessedBy'->>'organisationName', '') AS name
      FROM notifications WHERE type = 'access' AND ${IN_RANGE}) n
GROUP BY GROUPING SETS ((la_code, code), (code))`;

const BY_TYPE = `
SELECT la_code, GROUPING(la_code) AS total, type, count(*)::int AS count
FROM notifications WHERE ${IN_RANGE}
GROUP BY GROUPING SETS ((la_code, type), (type))`;

// Seconds from an alert to its acknowledgement, of the acknowledged ones (greatest() would take an unacknowledged one's null for 0).
const ACKNOWLEDGEMENT = `
SELECT la_code, GROUPING(la_code) AS total, count(*)::int AS alerts, count(acknowledged_at)::int AS acknowledged,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) FILTER (WHERE acknowledged_at IS NOT NULL) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY waited) FILTER (WHERE acknowledged_at IS NOT NULL) AS p95
FROM (SELECT la_code, acknowledged_at, extract(epoch FROM greatest(acknowledged_at - occurred_at, interval '0')) AS waited
      FROM notifications WHERE type = ANY ($4::text[]) AND ${IN_RANGE}) n
GROUP BY GROUPING SETS ((la_code), ())`;

// Silent reads: audited CareTeam and Flag searches, silent, that found a visible plan. The audit row
// names the child, not the LAs whose plans it found, so a read counts for each LA that holds a plan of
// the child now and had published it by then (README, Usage reports: what this misses). recorded_at
// and created_at are both the database's clock.
const SILENT_READS = `
SELECT p.la_code, GROUPING(p.la_code) AS total, count(*)::int AS count
FROM audit_events a
JOIN LATERAL (
  SELECT DISTINCT pl.la_code FROM plans pl
  WHERE pl.nhs_number = a.nhs_number AND pl.created_at <= a.recorded_at AND ($3::text IS NULL OR pl.la_code = $3)
) p ON true
WHERE a.recorded_at >= $1 AND a.recorded_at < $2 AND a.action IN ('search:CareTeam', 'search:Flag')
  AND a.unscheduled = false AND a.outcome = 'found'
  AND ($3::text IS NULL OR a.nhs_number IN (SELECT nhs_number FROM plans WHERE la_code = $3))
GROUP BY GROUPING SETS ((p.la_code), ())`;

type Grouped = { la_code: string | null; total: number };

const seconds = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);
const byCountThen = <T>(key: (x: T) => string) => (a: T & { count: number }, b: T & { count: number }) =>
  b.count - a.count || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Usage figures over PostgreSQL, read in one snapshot, on the pool given (the bulk one: reports must not take the LA API's connections). */
export function createPostgresUsageStore(pool: pg.Pool): UsageStore {
  return {
    async usage({ from, to }, laCode) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const params = [from, to, laCode ?? null];
        const settings = (await client.query<Grouped & { setting: string | null; count: number }>(BY_SETTING, params)).rows;
        const organisations = (await client.query<Grouped & { code: string; name: string; count: number }>(BY_ORGANISATION, params)).rows;
        const types = (await client.query<Grouped & { type: NotificationType; count: number }>(BY_TYPE, params)).rows;
        const acks = (await client.query<Grouped & { alerts: number; acknowledged: number; p50: number | null; p95: number | null }>(
          ACKNOWLEDGEMENT, [...params, ALERT_TYPES],
        )).rows;
        const silent = (await client.query<Grouped & { count: number }>(SILENT_READS, params)).rows;
        await client.query('COMMIT');

        const las = new Map<string, UsageFigures>();
        const total = noUsage();
        const figuresOf = (row: Grouped): UsageFigures => {
          if (row.total === 1) return total;
          let figures = las.get(row.la_code as string);
          if (!figures) las.set(row.la_code as string, (figures = noUsage()));
          return figures;
        };
        for (const { setting, count, ...row } of settings) {
          const { unscheduledAccesses } = figuresOf(row);
          unscheduledAccesses.bySetting.push({ setting, count });
          unscheduledAccesses.total += count;
        }
        for (const { code, name, count, ...row } of organisations) figuresOf(row).unscheduledAccesses.byOrganisation.push({ code, name, count });
        for (const { type, count, ...row } of types) {
          const { notifications } = figuresOf(row);
          notifications.byType[type] = count;
          notifications.total += count;
        }
        for (const { alerts, acknowledged, p50, p95, ...row } of acks) {
          // The row over all LAs is there even for an empty month; an LA's only once it had an alert.
          if (row.total === 1 || alerts > 0) figuresOf(row).acknowledgement = { alerts, acknowledged, p50Seconds: seconds(p50), p95Seconds: seconds(p95) };
        }
        for (const { count, ...row } of silent) if (row.total === 1 || count > 0) figuresOf(row).silentReads.total = count;
        for (const figures of [total, ...las.values()]) {
          figures.unscheduledAccesses.bySetting.sort(byCountThen((s) => s.setting ?? ''));
          figures.unscheduledAccesses.byOrganisation.sort(byCountThen((o) => o.code));
        }
        return { las, total };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async las(laCode) {
      const { rows } = await pool.query<{ code: string; name: string }>(
        'SELECT code, name FROM organisations WHERE ($1::text IS NULL OR code = $1) ORDER BY code', [laCode ?? null],
      );
      return rows;
    },
  };
}
