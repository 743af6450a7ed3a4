import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, movableClock } from '../support/clock.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode } from '../support/synthetic.ts';

// Issue 16, item 2: the health of each LA's feed as metrics, gauges read at scrape time from the
// tables the service keeps, with ages by the service's clock; and readiness and the PDS breaker as
// metrics, so that Prometheus can alert on them (ops/prometheus/cpis-alerts.yml).

const clock = movableClock();
let service: TestService;
beforeAll(async () => {
  service = await startTestService({ clock });
});
afterAll(async () => {
  await service?.stop();
});

const scrape = async () => {
  const res = await service.fetch('/metrics');
  expect(res.status).toBe(200);
  return res.text();
};
const valueOf = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length).trim());
};

describe('GET /metrics: the health of each feed', () => {
  it('gives each LA\'s last upload, its age by the service\'s clock, plans held, the verified share, the last batch\'s refusals and unacknowledged notifications, and no patient data', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const fresh = await scrape();
    // Set up but never published: its plans (none) are counted, and there is no upload to age.
    expect(valueOf(fresh, `cpis_la_plans_held{la="${org}"}`)).toBe(0);
    expect(fresh).not.toContain(`cpis_la_last_upload_age_seconds{la="${org}"}`);
    expect(fresh).not.toContain(`cpis_la_pds_verified_ratio{la="${org}"}`);

    const children = [childRecord(), childRecord({ familyName: 'Metricfamily', givenNames: 'Robin' })];
    const bad = childRecord({ nhsNumber: badChecksumNhsNumber() });
    const sent = await uploadJson(service, token, 3, [...children, bad, { ...childRecord(), planType: 'XYZ' }]);
    expect(await sent.json()).toMatchObject({ result: 'CPF03', loaded: 2, rejected: 2 });
    const uploadedAt = clock.now();
    await searchFor(service, await clinicianToken(service, { sub: 'feed-health-dr' }), 'CareTeam', children[0]?.nhsNumber as string);
    const lookedUpAt = clock.now();

    clock.advance(47 * HOUR);
    const text = await scrape();
    expect(valueOf(text, `cpis_la_last_upload_timestamp_seconds{la="${org}"}`)).toBe(uploadedAt.getTime() / 1000);
    expect(valueOf(text, `cpis_la_last_upload_age_seconds{la="${org}"}`)).toBe(47 * 3600);
    expect(valueOf(text, `cpis_la_plans_held{la="${org}"}`)).toBe(2);
    // PDS_MODE=off: nothing is verified.
    expect(valueOf(text, `cpis_la_pds_verified_ratio{la="${org}"}`)).toBe(0);
    expect(valueOf(text, `cpis_la_last_batch_refusals{la="${org}",result="CPR07",code="NHS_NUMBER_CHECKSUM"}`)).toBe(1);
    const refusals = text.split('\n').filter((l) => l.startsWith(`cpis_la_last_batch_refusals{la="${org}"`));
    expect(refusals).toHaveLength(2);
    expect(valueOf(text, `cpis_la_suspended{la="${org}"}`)).toBe(0);
    expect(valueOf(text, `cpis_notifications_unacknowledged{la="${org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_notifications_oldest_unacknowledged_seconds{la="${org}"}`)).toBe((clock.now().getTime() - lookedUpAt.getTime()) / 1000);

    for (const value of [...children.flatMap((c) => [c.nhsNumber as string]), bad.nhsNumber as string, 'Metricfamily', 'Robin', 'Testchild'])
      expect(text).not.toContain(value);

    // A newer batch replaces the last batch's refusals; one with none leaves none.
    const next = await uploadJson(service, token, 4, [childRecord()]);
    expect(next.status).toBe(201);
    const after = await scrape();
    expect(valueOf(after, `cpis_la_last_upload_age_seconds{la="${org}"}`)).toBe(0);
    expect(valueOf(after, `cpis_la_plans_held{la="${org}"}`)).toBe(3);
    expect(after).not.toContain(`cpis_la_last_batch_refusals{la="${org}"`);
  });

  it('marks a suspended LA, which keeps its other series', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    expect((await uploadJson(service, token, 1, [childRecord()])).status).toBe(201);
    const ops = await service.token({ role: 'ops', org: 'OPS01' });
    const suspended = await service.fetch(`/ops/v1/las/${org}/suspend`, {
      method: 'POST', token: ops, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'INC-7' }),
    });
    expect(suspended.status).toBe(200);
    const text = await scrape();
    expect(valueOf(text, `cpis_la_suspended{la="${org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_la_plans_held{la="${org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_la_last_upload_age_seconds{la="${org}"}`)).toBe(0);
  });
});

describe('GET /metrics: readiness and the PDS breaker', () => {
  it('gives cpis_ready 1 while ready and cpis_pds_circuit_open 0 with PDS_MODE=off; cpis_ready 0 once draining, as /health/ready says', async () => {
    const own = await startTestService();
    try {
      const text = await (await own.fetch('/metrics')).text();
      expect(valueOf(text, 'cpis_ready')).toBe(1);
      expect(valueOf(text, 'cpis_pds_circuit_open')).toBe(0);
      own.composition.setDraining();
      expect((await own.fetch('/health/ready')).status).toBe(503);
      expect(valueOf(await (await own.fetch('/metrics')).text(), 'cpis_ready')).toBe(0);
    } finally {
      await own.stop();
    }
  });
});
