import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { productionEnv } from '../support/production-env.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream } from '../support/stream-client.ts';
import { remoteRouteTo, requestVia } from '../support/network.ts';

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
  it('shows each pool\'s connections and waiters and whether the LISTEN connection is up, without counting its own query as waiting', async () => {
    const text = await (await service.fetch('/metrics')).text();
    expect(valueOf(text, 'cpis_outbox_listener_connected')).toBe(1);
    for (const pool of ['general', 'lookups', 'bulk']) {
      expect(valueOf(text, `cpis_db_pool_connections{pool="${pool}"}`)).toBeGreaterThanOrEqual(0);
      expect(valueOf(text, `cpis_db_pool_idle{pool="${pool}"}`)).toBeGreaterThanOrEqual(0);
      expect(valueOf(text, `cpis_db_pool_waiting{pool="${pool}"}`)).toBe(0);
    }
  });

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

  it('labels error answers with the route or mount that gave them, and an unknown path as unmatched', async () => {
    const nhs = childRecord().nhsNumber as string;
    await service.fetch('/la/v1/notifications');
    await service.fetch(`/cpis/FHIR/R4/CareTeam?patient:identifier=https://fhir.nhs.uk/Id/nhs-number|${nhs}`);
    await service.fetch('/cpis/FHIR/R4/CareTeam?patient:identifier=nonsense', { token: await clinicianToken(service) });
    await service.fetch(`/nowhere/${nhs}`);
    const text = await (await service.fetch('/metrics')).text();
    expect(valueOf(text, 'cpis_http_requests_total{method="GET",route="/la/v1",status="401"}')).toBe(1);
    expect(valueOf(text, 'cpis_http_requests_total{method="GET",route="/cpis/FHIR/R4/CareTeam",status="401"}')).toBe(1);
    expect(valueOf(text, 'cpis_http_requests_total{method="GET",route="/cpis/FHIR/R4/CareTeam",status="400"}')).toBe(1);
    expect(valueOf(text, 'cpis_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toContain(nhs);
  });
});

describe('GET /metrics through a reverse proxy on the same host', () => {
  it('asks for an ops token when a loopback caller carries a forwarding header', async () => {
    for (const headers of [{ 'x-forwarded-for': '198.51.100.7' }, { forwarded: 'for=198.51.100.7' }, { 'x-real-ip': '198.51.100.7' }]) {
      expect((await service.fetch('/metrics', { headers })).status).toBe(401);
    }
    const ops = await service.token({ role: 'ops', org: 'OPS' });
    const res = await service.fetch('/metrics', { headers: { 'x-forwarded-for': '198.51.100.7', authorization: `Bearer ${ops}` } });
    expect(res.status).toBe(200);
  });
});

describe('GET /metrics from another host', () => {
  // A test instance listens on loopback only; the test calls it from 127.0.0.2, a source address it does not treat as loopback.
  let open: TestService;
  beforeAll(async () => {
    open = await startTestService();
  });
  afterAll(async () => {
    await open?.stop();
  });

  const fromElsewhere = (headers: Record<string, string> = {}) => requestVia(remoteRouteTo(open.url), '/metrics', { headers });
  const codeOf = (text: string) => (JSON.parse(text) as { issue: { details: { coding: { code: string }[] } }[] }).issue[0]?.details.coding[0]?.code;

  it('answers 401 without a token, 403 to every role but ops, and 200 to ops', async () => {
    const org = syntheticLaCode();
    const none = await fromElsewhere();
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.headers['content-type']).toMatch(/application\/fhir\+json/);
    expect(codeOf(none.text)).toBe('ACCESS_DENIED');
    expect((await fromElsewhere({ authorization: 'Bearer not.a.token' })).status).toBe(401);

    for (const token of [await clinicianToken(open), await laToken(open, org), await open.token({ role: 'social-worker', org })]) {
      const denied = await fromElsewhere({ authorization: `Bearer ${token}` });
      expect(denied.status).toBe(403);
      expect(codeOf(denied.text)).toBe('ACCESS_DENIED');
      expect(denied.text).not.toContain('cpis_');
    }

    const ops = await fromElsewhere({ authorization: `Bearer ${await open.token({ role: 'ops', org: 'OPS01' })}` });
    expect(ops.status).toBe(200);
    expect(ops.headers['content-type']).toMatch(/text\/plain/);
    // The refusals above are counted under the route that refused them.
    expect(ops.text).toMatch(/^cpis_http_requests_total\{method="GET",route="\/metrics\/",status="401"\} 2$/m);
    expect(ops.text).toMatch(/^cpis_http_requests_total\{method="GET",route="\/metrics\/",status="403"\} 3$/m);
    // The same instance still opens it to a loopback caller without a token.
    expect((await open.fetch('/metrics')).status).toBe(200);
  });

  it('cannot be opened by a forwarding header that claims a loopback client', async () => {
    const claims: Record<string, string>[] = [
      { 'x-forwarded-for': '127.0.0.1' },
      { forwarded: 'for=127.0.0.1', 'x-real-ip': '127.0.0.1' },
      { 'x-forwarded-for': '::1, 127.0.0.1', 'x-forwarded-host': 'localhost', host: '127.0.0.1' },
    ];
    for (const headers of claims) expect((await fromElsewhere(headers)).status).toBe(401);
  });
});

describe('GET /metrics on a dual-stack listener (::)', () => {
  // IPv4 peers then arrive as IPv4-mapped IPv6 addresses: ::ffff:127.0.0.1 is loopback, ::ffff:<other> is not.
  // Only production may listen beyond loopback; no token is verified here, so its JWKS is never fetched.
  let dual: TestService;
  beforeAll(async () => {
    dual = await startTestService({ env: productionEnv({ HOST: '::' }) });
  });
  afterAll(async () => {
    await dual?.stop();
  });

  it('stays open to 127.0.0.1 and ::1, and closed to any other address', async () => {
    const { port } = new URL(dual.url);
    expect((await requestVia({ url: `http://127.0.0.1:${port}`, from: '127.0.0.1' }, '/metrics')).status).toBe(200);
    expect((await requestVia({ url: `http://[::1]:${port}`, from: '::1' }, '/metrics')).status).toBe(200);
    const elsewhere = remoteRouteTo(dual.url);
    expect((await requestVia(elsewhere, '/metrics')).status).toBe(401);
    // 127.0.0.2 is loopback to the kernel but not one of the addresses the service opens metrics to.
    expect((await requestVia({ url: `http://127.0.0.1:${port}`, localAddress: '127.0.0.2', from: '127.0.0.2' }, '/metrics')).status).toBe(401);
  });
});
