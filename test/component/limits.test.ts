import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream, type Frame } from '../support/stream-client.ts';
import { MAIN_PATH, runToExit } from '../support/process.ts';

const LISTED = 'https://console.example.nhs.uk';
const OTHER_LISTED = 'http://localhost:5173';

// Small limits so that each can be reached quickly; defaults are checked at the end.
let service: TestService;
// Short timeouts and no CORS_ORIGINS (the default).
let slow: TestService;
beforeAll(async () => {
  [service, slow] = await Promise.all([
    startTestService({
      env: {
        RATE_LIMIT_PER_SECOND: '10', STREAM_MAX_CONNECTIONS_PER_CLIENT: '2', STREAM_MAX_FRAMES_PER_SECOND: '5',
        STREAM_HEARTBEAT_SECONDS: '2', CORS_ORIGINS: `${LISTED}, ${OTHER_LISTED}`,
      },
    }),
    startTestService({ env: { HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2', KEEP_ALIVE_TIMEOUT_SECONDS: '1', STREAM_MAX_CONNECTIONS: '3' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([service?.stop(), slow?.stop()]);
});

type RawExchange = { status: number; head: string; body: string; closedAfterMs: number };

/** Writes bytes on a fresh TCP connection (fetch refuses to send some of them) and reads until the server closes it. */
function rawExchange(target: TestService, ...writes: string[]): Promise<RawExchange> {
  const { hostname, port } = new URL(target.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname, () => {
      for (const text of writes) socket.write(text);
    });
    let received = '';
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after 20 s; received ${JSON.stringify(received.slice(0, 200))}`));
    }, 20_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      const [head = '', body = ''] = received.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body, closedAfterMs: Date.now() - started });
    });
  });
}

const outcomeCode = (body: string) => (JSON.parse(body) as { issue: { details: { coding: { code: string }[] } }[] }).issue[0]?.details.coding[0]?.code;

/** An upgrade to the stream: 101 (then closed again), or the refusal's status, headers and OperationOutcome. */
function upgrade(target: TestService, options: { token?: string; ticket?: string; path?: string }) {
  const url = new URL(`${target.url.replace('http', 'ws')}${options.path ?? '/la/v1/notifications/stream'}`);
  if (options.ticket) url.searchParams.set('ticket', options.ticket);
  const ws = new WebSocket(url, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
  return new Promise<{ status: number; retryAfter?: string; code?: string; diagnostics?: string }>((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => {
        const outcome = JSON.parse(body) as { issue: { diagnostics: string; details: { coding: { code: string }[] } }[] };
        resolve({
          status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'],
          code: outcome.issue[0]?.details.coding[0]?.code, diagnostics: outcome.issue[0]?.diagnostics,
        });
      });
    });
    ws.once('error', (error) => (ws.readyState === ws.CLOSED ? undefined : reject(error)));
  });
}

async function worker(target: TestService, sub: string, org = syntheticLaCode()) {
  return { org, token: await target.token({ role: 'social-worker', org, sub, name: 'Duty Worker' }) };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('URL and header length', () => {
  it('answers 414 with an OperationOutcome for a URL over MAX_URL_LENGTH, before routing and authentication', async () => {
    const res = await service.fetch(`/cpis/FHIR/R4/CareTeam?patient=${'9'.repeat(4200)}`);
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const outcome = await res.json();
    expect(outcome.issue[0]).toMatchObject({ code: 'too-costly', details: { coding: [{ code: 'VALIDATION_ERROR' }] } });
    expect(outcome.issue[0].diagnostics).toContain('4096');
    // The same limit on the WebSocket path, which Express never sees.
    expect(await upgrade(service, { path: `/la/v1/notifications/stream?after=${'1'.repeat(4200)}` })).toMatchObject({ status: 414, code: 'VALIDATION_ERROR' });
    // Just under the limit is served as usual.
    expect((await service.fetch(`/health/live?pad=${'x'.repeat(4000)}`)).status).toBe(200);
  });

  it('answers 431 with an OperationOutcome and closes the connection when headers exceed MAX_HEADER_BYTES', async () => {
    const big = await rawExchange(service, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(big.head).toMatch(/content-type: application\/fhir\+json/i);
    expect(big.head).toMatch(/x-request-id: \S+/i);
    expect(outcomeCode(big.body)).toBe('VALIDATION_ERROR');
    expect(big.body).toContain('16384');
    // The URL counts towards the same limit.
    expect((await rawExchange(service, `GET /health/live?pad=${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status).toBe(431);
    // A long identity-provider token fits under the default, and the service carries on.
    expect((await service.fetch('/health/live', { headers: { 'x-padding': 'c'.repeat(10_000) } })).status).toBe(200);
  });

  it('answers a malformed request with 400 and an OperationOutcome', async () => {
    const bad = await rawExchange(service, 'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
    expect(bad.status).toBe(400);
    expect(outcomeCode(bad.body)).toBe('VALIDATION_ERROR');
  });
});

describe('slow clients', () => {
  it('cuts off a client stalled in its headers after HEADERS_TIMEOUT_SECONDS with 408, serving others meanwhile', async () => {
    const worker1 = await worker(slow, 'slow-stream');
    const stream = await openStream(slow, { token: worker1.token });
    const openedAt = Date.now();
    const stalled = rawExchange(slow, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const silent = rawExchange(slow);
    await pause(300);
    expect((await slow.fetch('/health/live')).status).toBe(200);
    const [cut, quiet] = await Promise.all([stalled, silent]);
    expect(cut.status).toBe(408);
    expect(outcomeCode(cut.body)).toBe('VALIDATION_ERROR');
    expect(JSON.parse(cut.body).issue[0].diagnostics).toMatch(/within 1 s/);
    // Not before the limit, and well within a generous bound after it.
    expect(cut.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(cut.closedAfterMs).toBeLessThan(8_000);
    expect(quiet.status).toBe(408);
    expect(quiet.closedAfterMs).toBeLessThan(8_000);
    // An upgraded stream is no longer an HTTP request: it outlives both timeouts.
    await pause(Math.max(0, openedAt + 3_500 - Date.now()));
    expect(stream.ws.readyState).toBe(WebSocket.OPEN);
    stream.ws.close();
  });

  it('cuts off an upload whose body stalls after REQUEST_TIMEOUT_SECONDS, and loads nothing of it', async () => {
    const token = await laToken(slow, syntheticLaCode());
    const lines = [childRecord(), childRecord(), childRecord()].map((r) => `${JSON.stringify(r)}\n`).join('');
    const chunk = `${Buffer.byteLength(lines).toString(16)}\r\n${lines}\r\n`;
    const cut = await rawExchange(
      slow,
      'POST /la/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nX-Sequence-Number: 1\r\n' +
        `Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunk,
    );
    expect(cut.status).toBe(408);
    expect(outcomeCode(cut.body)).toBe('VALIDATION_ERROR');
    expect(cut.closedAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(cut.closedAfterMs).toBeLessThan(10_000);
    // Nothing was written, and the sequence number is still free.
    expect((await (await slow.fetch('/la/v1/plans', { token })).json()).plans).toEqual([]);
    const resent = await uploadJson(slow, token, 1, [childRecord()]);
    expect(resent.status).toBe(201);
    expect((await resent.json()).loaded).toBe(1);
    // The cut-off is the client's doing: it is not logged as a fault of the service.
    expect(slow.logs.filter((line) => line.includes('unhandled error'))).toEqual([]);
  });

  it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_SECONDS', async () => {
    const idle = await rawExchange(slow, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(idle.status).toBe(200);
    expect(idle.head).toMatch(/keep-alive: timeout=1/i);
    expect(idle.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(idle.closedAfterMs).toBeLessThan(8_000);
  });
});

describe('WebSocket limits', () => {
  it('answers 503 with Retry-After once the instance holds STREAM_MAX_CONNECTIONS streams, whoever asks', async () => {
    const streams = await Promise.all(['full-a', 'full-b', 'full-c'].map(async (sub) => openStream(slow, { token: (await worker(slow, sub)).token })));
    const refused = await upgrade(slow, { token: (await worker(slow, 'full-d')).token });
    expect(refused).toMatchObject({ status: 503, code: 'UNABLE_TO_CALL_SERVICE', retryAfter: '5' });
    expect(refused.diagnostics).toMatch(/maximum of 3 notification streams/);
    streams[0]?.ws.close();
    await vi.waitFor(async () => expect((await upgrade(slow, { token: (await worker(slow, 'full-d')).token })).status).toBe(101), { timeout: 5_000, interval: 250 });
    for (const stream of streams) stream.ws.close();
  });

  it('refuses ?after= beyond the LA\'s last event number, which would leave the stream silent, naming the real one', async () => {
    const a = await worker(service, 'ahead');
    const refused = await upgrade(service, { token: a.token, path: '/la/v1/notifications/stream?after=5' });
    expect(refused).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect(refused.diagnostics).toBe("after is beyond this LA's last event number (0); reconnect with after=0 or less");
    expect((await upgrade(service, { token: a.token, path: '/la/v1/notifications/stream?after=0' })).status).toBe(101);
  });

  it('caps open streams per token subject with 429 and Retry-After before the upgrade, and frees a slot on close', async () => {
    const a = await worker(service, 'cap-a');
    const first = await openStream(service, { token: a.token });
    const second = await openStream(service, { token: a.token });
    const refused = await upgrade(service, { token: a.token });
    expect(refused).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS', retryAfter: '4' });
    expect(refused.diagnostics).toMatch(/at most 2 notification streams/);
    // A ticket is the same subject.
    const { ticket } = await (await service.fetch('/la/v1/notifications/stream-tickets', { method: 'POST', token: a.token })).json();
    expect((await upgrade(service, { ticket })).status).toBe(429);
    // Another user of the same LA is not held back.
    const colleague = await openStream(service, { token: (await worker(service, 'cap-b', a.org)).token });
    first.ws.close();
    await vi.waitFor(async () => expect((await upgrade(service, { token: a.token })).status).toBe(101), { timeout: 5_000, interval: 250 });
    second.ws.close();
    colleague.ws.close();
  });

  it('closes a socket that sends a frame over STREAM_MAX_FRAME_BYTES with 1009, and carries on', async () => {
    const w = await worker(service, 'big-frame');
    const client = await openStream(service, { token: w.token });
    client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1, padding: 'x'.repeat(5_000) }));
    expect((await client.closed).code).toBe(1009);
    expect((await service.fetch('/health/ready')).status).toBe(200);
    const again = await openStream(service, { token: w.token });
    again.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    await again.waitFor((f) => f.some((x) => x.type === 'acknowledged'));
    again.ws.close();
  });

  it('refuses frames over STREAM_MAX_FRAMES_PER_SECOND with error frames, and closes a flood with 1008', async () => {
    const org = syntheticLaCode();
    const la = await laToken(service, org);
    const record = childRecord();
    expect((await uploadJson(service, la, 1, [record])).status).toBe(201);
    await searchFor(service, await clinicianToken(service, { sub: 'frames-dr' }), 'CareTeam', record.nhsNumber as string);
    const w = await worker(service, 'frames-sw', org);
    const client = await openStream(service, { token: w.token, after: 0 });
    await client.waitFor((f) => f.some((x) => x.type === 'notification'));
    for (let i = 0; i < 8; i++) client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    const replies = (f: Frame[]) => f.filter((x) => x.type === 'acknowledged' || x.type === 'error');
    await client.waitFor((f) => replies(f).length === 8);
    const processed = client.frames.filter((x) => x.type === 'acknowledged');
    const refused = client.frames.filter((x) => x.type === 'error');
    expect(processed.length).toBeGreaterThanOrEqual(5);
    expect(processed.length).toBeLessThanOrEqual(6);
    expect(refused.length).toBe(8 - processed.length);
    expect(refused[0]?.operationOutcome.issue[0]).toMatchObject({ code: 'throttled', details: { coding: [{ code: 'TOO_MANY_REQUESTS' }] } });
    expect(refused[0]?.operationOutcome.issue[0].diagnostics).toMatch(/more than 5 frames a second/);
    expect(processed.flatMap((x) => x.eventNumbers)).toEqual([1]);
    // The socket stays usable once the client slows down.
    await pause(1_100);
    client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    await client.waitFor((f) => f.filter((x) => x.type === 'acknowledged').length === processed.length + 1);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();

    const flooder = await openStream(service, { token: w.token });
    for (let i = 0; i < 200; i++) flooder.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    expect(await flooder.closed).toEqual({ code: 1008, reason: 'too many frames' });
    expect(flooder.frames.filter((x) => x.type === 'error').length).toBeLessThanOrEqual(6);
  });

  it('spends RATE_LIMIT_PER_SECOND on upgrades, by bearer token and by ticket, from the same budget as HTTP', async () => {
    const isRateLimited = (u: { status: number; diagnostics?: string }) => u.status === 429 && u.diagnostics === 'rate limit exceeded';
    const w = await worker(service, 'rate-bearer');
    // Eight of the subject's ten requests a second over HTTP leave room for about two upgrades.
    const requests = await Promise.all(Array.from({ length: 8 }, () => service.fetch('/la/v1/notifications', { token: w.token })));
    expect(requests.map((r) => r.status)).toEqual(Array(8).fill(200));
    const upgrades = await Promise.all(Array.from({ length: 6 }, () => upgrade(service, { token: w.token })));
    expect(upgrades.filter(isRateLimited).length).toBeGreaterThanOrEqual(3);
    expect(upgrades.find(isRateLimited)).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfter: expect.stringMatching(/^\d+$/) });

    const t = await worker(service, 'rate-ticket');
    const tickets: string[] = [];
    // Three rounds, so that the redemptions outnumber the budget by enough that a slow, loaded machine
    // refilling it while they are handled still refuses some.
    for (let round = 0; round < 3; round++) {
      const issued = await Promise.all(Array.from({ length: 7 }, () => service.fetch('/la/v1/notifications/stream-tickets', { method: 'POST', token: t.token })));
      for (const res of issued) tickets.push((await res.json()).ticket as string);
      await pause(1_100);
    }
    // A full budget of ten, and twenty-one redemptions at once: some must be refused by the rate limit.
    const redeemed = await Promise.all(tickets.map((ticket) => upgrade(service, { ticket })));
    expect(redeemed.filter(isRateLimited).length).toBeGreaterThanOrEqual(3);
    await pause(1_100);
    expect((await upgrade(service, { token: w.token })).status).toBe(101);
  });

  it('survives clients that reset the connection while their upgrade is being authenticated', async () => {
    const w = await worker(service, 'reset-sw');
    const { hostname, port } = new URL(service.url);
    const head = (auth: string) =>
      `GET /la/v1/notifications/stream${auth.startsWith('ticket') ? `?${auth}` : ''} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `${auth.startsWith('Bearer') ? `Authorization: ${auth}\r\n` : ''}\r\n`;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(head(i % 2 ? 'ticket=made-up-ticket' : `Bearer ${w.token}`));
          socket.resetAndDestroy();
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      })),
    );
    await pause(300);
    expect((await service.fetch('/health/live')).status).toBe(200);
    await pause(1_100);
    const client = await openStream(service, { token: w.token });
    client.ws.close();
  });
});

describe('CORS', () => {
  it('answers a preflight from a listed origin with the methods and headers the APIs use, never credentials', async () => {
    for (const [path, method, origin] of [['/cpis/FHIR/R4/CareTeam', 'GET', LISTED], ['/la/v1/uploads', 'POST', OTHER_LISTED], ['/la/v1/organisation', 'PUT', LISTED]] as const) {
      const res = await service.fetch(path, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type,isunscheduledaccessevent,x-request-id,x-sequence-number' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toContain(method);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
      for (const header of ['authorization', 'content-type', 'isunscheduledaccessevent', 'x-request-id', 'traceid', 'x-correlation-id', 'x-sequence-number'])
        expect(allowed).toContain(header);
      expect(res.headers.get('vary')).toMatch(/origin/i);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('grants a listed origin on answers, errors included, and exposes the headers clients read', async () => {
    const ok = await service.fetch('/cpis/FHIR/R4/CareTeam?patient=9990000018', { token: await clinicianToken(service, { sub: 'cors-dr' }), headers: { origin: LISTED } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/X-Request-ID.*Retry-After/);
    expect(ok.headers.get('vary')).toMatch(/origin/i);
    const refused = await service.fetch('/la/v1/plans', { headers: { origin: LISTED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(LISTED);
  });

  it('never reflects an unlisted origin, and leaves the console and health checks out', async () => {
    const preflight = await service.fetch('/cpis/FHIR/R4/CareTeam', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight.json()).issue[0].details.coding[0].code).toBe('ACCESS_DENIED');
    const token = await clinicianToken(service, { sub: 'cors-dr-2' });
    for (const origin of ['https://evil.example', `${LISTED}.evil.example`, 'http://console.example.nhs.uk', `${LISTED}:8443`, 'null']) {
      const res = await service.fetch('/cpis/FHIR/R4/CareTeam?patient=9990000018', { token, headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/origin/i);
    }
    for (const path of ['/console/', '/health/live'])
      expect((await service.fetch(path, { headers: { origin: LISTED } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends no CORS headers at all when CORS_ORIGINS is empty, the default', async () => {
    const preflight = await slow.fetch('/cpis/FHIR/R4/CareTeam', { method: 'OPTIONS', headers: { origin: LISTED, 'access-control-request-method': 'GET' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    const metadata = await slow.fetch('/cpis/FHIR/R4/metadata', { headers: { origin: LISTED } });
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('configuration of the limits', () => {
  it('has safe defaults that leave room for a 250,000-record upload and the console', () => {
    const { http, stream } = loadConfig({});
    expect(http).toMatchObject({ maxUrlLength: 4096, maxHeaderBytes: 16384, headersTimeoutMs: 15_000, requestTimeoutMs: 300_000, corsOrigins: [] });
    expect(stream).toMatchObject({ maxFrameBytes: 4096, maxConnectionsPerClient: 10, maxFramesPerSecond: 50 });
    expect(loadConfig({ CORS_ORIGINS: ` ${LISTED},${OTHER_LISTED} ` }).http.corsOrigins).toEqual([LISTED, OTHER_LISTED]);
  });

  it('stops start-up naming each malformed CORS origin and each inconsistent limit', async () => {
    const result = await runToExit([MAIN_PATH], {
      CORS_ORIGINS: `*,${LISTED}/app,${LISTED}:443,Https://Console.Example.nhs.uk,console.example.nhs.uk`,
      HEADERS_TIMEOUT_SECONDS: '30', REQUEST_TIMEOUT_SECONDS: '10', MAX_URL_LENGTH: '20000', MAX_HEADER_BYTES: '16384',
    });
    expect(result.code).toBe(78);
    for (const given of ['"*"', `"${LISTED}/app"`, `"${LISTED}:443"`, '"Https://Console.Example.nhs.uk"', '"console.example.nhs.uk"'])
      expect(result.stderr).toContain(`CORS_ORIGINS has ${given}`);
    expect(result.stderr).toContain(`write it as "${LISTED}"`);
    expect(result.stderr).toMatch(/REQUEST_TIMEOUT_SECONDS \(10\) must be at least HEADERS_TIMEOUT_SECONDS \(30\)/);
    expect(result.stderr).toMatch(/MAX_URL_LENGTH \(20000\) must be less than MAX_HEADER_BYTES/);
  });
});
