import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { promtool, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

// Issue 16, item 5: alerting that works before it is needed. The rules shipped in ops/prometheus/
// pass promtool's checks and their unit tests; a real Prometheus (Debian's package) scrapes a running
// service, evaluates the rules as shipped, and raises CpisLaFeedStale for an LA the service's clock
// has taken past 48 hours without a batch, and not before; and the Grafana dashboard's every query
// runs on what the service exports.

const OPS = new URL('../../ops/', import.meta.url);
const RULES = fileURLToPath(new URL('prometheus/cpis-alerts.yml', OPS));
const DASHBOARD = JSON.parse(readFileSync(new URL('grafana/cpis-dashboard.json', OPS), 'utf8')) as Dashboard;
const ALERTS = ['CpisNotReady', 'CpisHigh5xxRate', 'CpisOutboxLag', 'CpisAlertUnacknowledged', 'CpisLaFeedStale', 'CpisPdsCircuitOpen'];

type Panel = { title: string; targets?: { expr: string }[]; panels?: Panel[] };
type Dashboard = { panels: Panel[]; templating: { list: { name: string; definition?: string }[] } };

describe('the shipped rules and configuration', () => {
  it('pass promtool check rules, and promtool check config for the example configuration', async () => {
    const rules = await promtool(['check', 'rules', RULES]);
    expect(rules.output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(rules.code).toBe(0);
    const config = await promtool(['check', 'config', fileURLToPath(new URL('prometheus/prometheus.example.yml', OPS))]);
    expect(config.code, config.output).toBe(0);
  });

  it('pass their unit tests (promtool test rules), which test every rule', async () => {
    const tests = readFileSync(new URL('prometheus/cpis-alerts.test.yml', OPS), 'utf8');
    const tested = new Set([...tests.matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect([...tested].sort()).toEqual([...ALERTS].sort());
    const run = await promtool(['test', 'rules', 'cpis-alerts.test.yml'], fileURLToPath(new URL('prometheus/', OPS)));
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });
});

describe('a real Prometheus scraping a running service, with the rules as shipped', () => {
  const clock = movableClock();
  const stale = syntheticLaCode();
  const fresh = syntheticLaCode();
  let service: TestService;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    service = await startTestService({ clock });
    const [staleToken, freshToken] = [await laToken(service, stale), await laToken(service, fresh)];
    for (const token of [staleToken, freshToken]) expect((await uploadJson(service, token, 1, [childRecord()])).status).toBe(201);
    // 47 hours on, only the fresh LA publishes again.
    clock.advance(47 * HOUR);
    expect((await uploadJson(service, freshToken, 2, [childRecord()])).status).toBe(201);
    prometheus = await startPrometheus({ targets: [new URL(service.url).host], ruleFiles: [RULES], intervalSeconds: 1 });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop();
  });

  const ageSeen = async (la: string) => Number((await prometheus.query(`cpis_la_last_upload_age_seconds{la="${la}"}`)).data?.result[0]?.value[1] ?? NaN);
  const staleAlerts = async () => (await prometheus.alerts()).filter((a) => a.labels.alertname === 'CpisLaFeedStale');

  it('loads the six rules, each with a severity, a summary and its section of docs/operations.md', async () => {
    const { data } = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; labels: Record<string, string>; annotations: Record<string, string>; health: string }[] }[] };
    };
    const rules = data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual([...ALERTS].sort());
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.name).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.name).toBeTruthy();
      expect(rule.annotations.runbook_url, rule.name).toBe(`docs/operations.md#${rule.name.toLowerCase()}`);
    }
    await expect.poll(async () => (await prometheus.query('cpis_ready')).data?.result.map((r) => r.value[1]), { timeout: 20_000 }).toEqual(['1']);
    expect(rules.every((r) => r.health !== 'err')).toBe(true);
  });

  it('does not raise CpisLaFeedStale for an LA 47 hours without a batch, then fires it for that LA alone once the service\'s clock is past 48 hours', async () => {
    // Scraped at 47 hours...
    await expect.poll(() => ageSeen(stale), { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(47 * 3600);
    expect(await ageSeen(fresh)).toBeLessThan(60);
    // ...and evaluated on it, twice over.
    const seenAt = Date.now() / 1000;
    await expect.poll(async () => Math.min(...(await prometheus.lastEvaluations())), { timeout: 20_000, interval: 250 }).toBeGreaterThan(seenAt + 2);
    expect(await staleAlerts()).toEqual([]);
    expect((await prometheus.query('ALERTS{alertname="CpisLaFeedStale"}')).data?.result).toEqual([]);

    clock.advance(HOUR + 60_000);
    await expect.poll(async () => (await staleAlerts()).map((a) => [a.labels.la, a.state]), { timeout: 30_000, interval: 250 }).toEqual([[stale, 'firing']]);
    const [alert] = await staleAlerts();
    expect(alert?.labels).toEqual({ alertname: 'CpisLaFeedStale', la: stale, severity: 'warning' });
    expect(alert?.annotations).toMatchObject({ summary: `LA ${stale} has sent no batch for 2d 0h 1m 0s`, runbook_url: 'docs/operations.md#cpislafeedstale' });
    // The fresh LA, an hour and a minute since its batch, raises nothing.
    expect((await prometheus.alerts()).filter((a) => a.labels.la === fresh)).toEqual([]);
  });

  it('runs every query of the Grafana dashboard, each on metrics the service exports', async () => {
    const panels = DASHBOARD.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const queries = [
      ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
      ...DASHBOARD.templating.list.filter((v) => v.definition).map((v) => ({ where: `variable ${v.name}`, expr: /^label_values\((.+), \w+\)$/.exec(v.definition as string)?.[1] as string })),
    ];
    expect(queries.length).toBeGreaterThan(15);
    const exported = new Set(
      [...(await (await service.fetch('/metrics')).text()).matchAll(/^# TYPE (\w+) (\w+)$/gm)]
        .flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name as string])),
    );
    const named = (text: string) => [...text.matchAll(/\b(cpis_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
    for (const { where, expr } of queries) {
      for (const name of named(expr)) expect(exported, `${where}: ${name}`).toContain(name);
      const concrete = expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*').replaceAll('$la', '.*');
      const answer = await prometheus.query(concrete);
      expect(answer.status, `${where}: ${answer.error ?? ''}`).toBe('success');
    }
    for (const name of named(readFileSync(RULES, 'utf8'))) expect(exported, `rules: ${name}`).toContain(name);
  });
});
