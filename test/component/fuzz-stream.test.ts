import fc from 'fast-check';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream, type Frame, type StreamClient } from '../support/stream-client.ts';
import { expectSuccessOrOutcome } from '../support/arbitraries.ts';

// Property-based tests of what LA clients send about notifications: WebSocket frames on the stream,
// acknowledgement bodies on the mailbox, and the upgrade's query. Every frame gets an error frame
// or an acknowledgement (or, past the frame-size cap, a 1009 close), the socket stays usable, and
// no LA's acknowledgement ever touches another LA's notifications.

const MAX_FRAME_BYTES = 4096;
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  // Frame rates and request rates have their own tests: here every frame's content is judged, however fast they come.
  service = await startTestService({
    env: { RATE_LIMIT_PER_SECOND: '0', STREAM_MAX_FRAMES_PER_SECOND: '0', STREAM_HEARTBEAT_SECONDS: '30', STREAM_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES) },
  });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

/** A fresh LA with `count` notifications, numbered 1 to count. */
async function laWithNotifications(count: number) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const records = Array.from({ length: count }, () => childRecord());
  expect((await uploadJson(service, token, 1, records)).status).toBe(201);
  const dr = await clinicianToken(service, { sub: `dr-${org}` });
  for (const r of records) await searchFor(service, dr, 'CareTeam', r.nhsNumber as string);
  const worker = await service.token({ role: 'social-worker', org, sub: `sw-${org}`, name: 'Duty Worker' });
  return { org, token, worker, numbers: Array.from({ length: count }, (_, i) => i + 1) };
}

const acknowledgedIn = async (org: string) =>
  (await db.query<{ n: string }>('SELECT event_number AS n FROM notifications WHERE la_code = $1 AND acknowledged_at IS NOT NULL ORDER BY 1', [org])).rows.map((r) => Number(r.n));

/** The contract's one valid client frame (schemas/ws-client-frame.schema.json), and the mailbox's two ack shapes. */
const isEventNumber = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= Number.MAX_SAFE_INTEGER;
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const onlyKeys = (v: Record<string, unknown>, keys: string[]) => Object.keys(v).sort().join() === [...keys].sort().join();
function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const eventNumberArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 8 }) },
  fc.constantFrom(0, -0, 1.5, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 1e300, -1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

const isReply = (f: Frame) => f.type === 'error' || f.type === 'acknowledged';

/** Sends one frame and waits for the service's answer to it (notifications and heartbeats pass by). */
async function exchange(client: StreamClient, frame: string | Uint8Array): Promise<Frame> {
  const from = client.frames.length;
  client.ws.send(frame);
  await client.waitFor((frames) => frames.slice(from).some(isReply));
  return client.frames.slice(from).find(isReply) as Frame;
}

describe('fuzzing the notification stream', () => {
  it('answers every client frame with an error frame or an acknowledgement of its own LA only, and stays usable', async () => {
    const mark = service.logs.length;
    const mine = await laWithNotifications(3);
    const other = await laWithNotifications(5);
    const acked = new Set<number>();
    const open = () => openStream(service, { token: mine.worker, after: 0 });
    let client = await open();
    const frameArb = fc.oneof(
      { weight: 3, arbitrary: eventNumberArb.map((n) => JSON.stringify({ type: 'ack', eventNumber: n }) ?? '') },
      fc.record({ type: fc.constantFrom('ack', 'ACK', 'heartbeat', 'notification', ''), eventNumber: fc.option(eventNumberArb), la: fc.option(fc.constant(other.org)) }, { requiredKeys: ['type'] })
        .map((f) => JSON.stringify(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== null)))),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom(
        '{"type":"ack","eventNumber":1', '{"type":"ack","eventNumber":1}{}', '{"type":"ack","eventNumber":3,"eventNumber":2}', '{"type":"ack","eventNumber":"1"}',
        '{"type":"ack","eventNumber":2e0}', '{"type":"ack","eventNumber":3.0}', '{"__proto__":{"type":"ack"},"eventNumber":1}', '{"type":"ack","eventNumber":1,"constructor":{}}',
        '', ' ', 'null', `{"type":"ack","eventNumber":${'9'.repeat(400)}}`, `${'['.repeat(1000)}${']'.repeat(1000)}`,
      ),
      fc.integer({ min: MAX_FRAME_BYTES + 1, max: MAX_FRAME_BYTES * 3 }).chain((n) => fc.constantFrom<string | Uint8Array>('x'.repeat(n), new Uint8Array(n))),
    );
    await fc.assert(
      fc.asyncProperty(frameArb, async (frame) => {
        if (client.ws.readyState !== WebSocket.OPEN) client = await open();
        const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
        if (bytes > MAX_FRAME_BYTES) {
          client.ws.send(frame);
          expect((await client.closed).code).toBe(1009);
          return;
        }
        const reply = await exchange(client, frame);
        const value = typeof frame === 'string' ? parsed(frame) : undefined;
        if (isPlainObject(value) && onlyKeys(value, ['type', 'eventNumber']) && value.type === 'ack' && isEventNumber(value.eventNumber)) {
          const n = value.eventNumber;
          const expected = mine.numbers.includes(n) && !acked.has(n) ? [n] : [];
          expect(reply).toEqual({ type: 'acknowledged', eventNumbers: expected });
          acked.add(n);
        } else {
          expect(reply.type).toBe('error');
          const outcome = reply.operationOutcome as { resourceType: string; issue: { details: { coding: { code: string }[] } }[] };
          expect(outcome.resourceType).toBe('OperationOutcome');
          expect(outcome.issue.length).toBeGreaterThan(0);
          for (const issue of outcome.issue) expect(issue.details.coding[0]?.code).toBe('VALIDATION_ERROR');
        }
        // Still usable: a valid ack after anything gets its acknowledgement.
        const after = await exchange(client, JSON.stringify({ type: 'ack', eventNumber: 2 }));
        expect(after).toEqual({ type: 'acknowledged', eventNumbers: acked.has(2) ? [] : [2] });
        acked.add(2);
      }),
      { numRuns: 150 },
    );
    client.ws.close();
    expect((await service.fetch('/health/live')).status).toBe(200);
    expect(await acknowledgedIn(mine.org)).toEqual(mine.numbers.filter((n) => acked.has(n)));
    expect(await acknowledgedIn(other.org)).toEqual([]);
    expect(service.logs.slice(mark).filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
  });

  it('refuses any upgrade query it cannot use with a 4xx OperationOutcome, and opens the rest', async () => {
    const la = await laWithNotifications(1);
    const part = fc.oneof(
      fc.constantFrom('after=0', 'after=1', 'after=', 'after=-1', 'after=1e3', 'after=1.5', `after=${'9'.repeat(20)}`, 'after=%00', 'after=%zz', 'after[]=1', 'after=1&after=2',
        'ticket=', 'ticket=%00', 'ticket=x', `ticket=${'t'.repeat(3000)}`, 'ticket[]=x', '__proto__=1', 'token=x', '%', '&&'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 4 }), async (parts) => {
        const url = `${service.url.replace('http', 'ws')}/la/v1/notifications/stream?${parts.join('&')}`;
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${la.worker}` } });
        const outcome = await new Promise<{ status: number; body: string; type?: string }>((resolve, reject) => {
          ws.once('open', () => resolve({ status: 101, body: '' }));
          ws.once('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
          });
          ws.once('error', reject);
        });
        ws.terminate();
        if (outcome.status === 101) return;
        expect(outcome.status).toBeGreaterThanOrEqual(400);
        expect(outcome.status).toBeLessThan(500);
        expect(outcome.type).toMatch(/^application\/fhir\+json/);
        expect(JSON.parse(outcome.body)).toMatchObject({ resourceType: 'OperationOutcome', issue: [expect.anything()] });
      }),
      { numRuns: 60 },
    );
  });
});

describe('fuzzing mailbox acknowledgements', () => {
  it('acknowledges exactly its own LA’s notifications for a valid body and refuses any other body with a 400', async () => {
    const mark = service.logs.length;
    const mine = await laWithNotifications(4);
    const other = await laWithNotifications(6);
    const acked = new Set<number>();
    const bodyArb = fc.oneof(
      eventNumberArb.map((n) => JSON.stringify({ upTo: n }) ?? ''),
      fc.array(eventNumberArb, { maxLength: 5 }).map((ns) => JSON.stringify({ eventNumbers: ns }) ?? ''),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1001, maxLength: 1002 }).map((ns) => JSON.stringify({ eventNumbers: ns })),
      fc.tuple(eventNumberArb, fc.array(eventNumberArb, { maxLength: 3 })).map(([u, ns]) => JSON.stringify({ upTo: u, eventNumbers: ns })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.constantFrom('', '{', '{"upTo": 1e999}', `{"upTo": ${'9'.repeat(400)}}`, '{"upTo": 2, "__proto__": {"x": 1}}', '{"eventNumbers": [1], "la": "X"}', '{"upTo": 1, "upTo": 2}'),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await service.fetch('/la/v1/notifications/ack', {
          method: 'POST', token: mine.token, headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000),
        });
        const answer = await expectSuccessOrOutcome(res);
        const value = parsed(body);
        let selected: number[] | undefined;
        if (isPlainObject(value) && onlyKeys(value, ['upTo']) && isEventNumber(value.upTo)) selected = mine.numbers.filter((n) => n <= (value.upTo as number));
        const list = isPlainObject(value) ? value.eventNumbers : undefined;
        if (isPlainObject(value) && onlyKeys(value, ['eventNumbers']) && Array.isArray(list) && list.length >= 1 && list.length <= 1000 && list.every(isEventNumber))
          selected = mine.numbers.filter((n) => list.includes(n));
        if (selected === undefined) return void expect(answer.status).toBe(400);
        expect(answer.status).toBe(200);
        const expected = selected.filter((n) => !acked.has(n));
        expect([...(answer.body as { acknowledged: number[] }).acknowledged].sort((a, b) => a - b)).toEqual(expected);
        for (const n of expected) acked.add(n);
      }),
      { numRuns: 150 },
    );
    expect(await acknowledgedIn(mine.org)).toEqual(mine.numbers.filter((n) => acked.has(n)));
    expect(await acknowledgedIn(other.org)).toEqual([]);
    expect(service.logs.slice(mark).filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
  });
});
