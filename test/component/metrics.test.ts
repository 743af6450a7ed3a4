import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream } from '../support/stream-client.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const valueOf = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length).trim());
};

describe('GET /metrics', () => {
  it('counts requests, lookups, notifications, sockets and outbox lag, with no patient data', async () => {
    const org = syntheticLaCode();
    const record = childRecord();
    const token = await laToken(service, org);
    await uploadJson(service, token, 1, [record]);
    const worker = await service.token({ role: 'social-worker', org });
    const stream = await openStream(service, { token: worker });
    await searchFor(service, await clinicianToken(service, { sub: 'metrics-dr' }), 'CareTeam', record.nhsNumber as string);
    await stream.waitFor((f) => f.some((x) => x.type === 'notification'));

    const res = await service.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(valueOf(text, 'cpis_lookups_total{resource="CareTeam",kind="unscheduled",outcome="found"}')).toBe(1);
    expect(valueOf(text, `cpis_notifications_created_total{la="${org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_notifications_delivered_total{la="${org}"}`)).toBe(1);
    expect(valueOf(text, `cpis_notifications_unacknowledged{la="${org}"}`)).toBe(1);
    expect(valueOf(text, 'cpis_open_sockets')).toBe(1);
    expect(valueOf(text, 'cpis_outbox_lag_seconds_count')).toBe(1);
    expect(valueOf(text, 'cpis_http_requests_total{method="GET",route="/cpis/FHIR/R4/CareTeam",status="200"}')).toBe(1);
    expect(text).toMatch(/^cpis_http_request_duration_seconds_bucket\{/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).not.toContain(record.nhsNumber as string);
    stream.ws.close();
  });
});
