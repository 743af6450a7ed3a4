import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../../src/domain/notification.ts';
import { closeForFailure, createLaChannel, type Subscriber } from '../../src/realtime/la-channel.ts';
import { CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN_LATER } from '../../src/realtime/close-codes.ts';
import { createPostgresNotificationStore } from '../../adapters/postgres/notification-store.ts';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { createTestDatabase, laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { spawnService } from '../support/process.ts';
import { sharedKeyTokens } from '../support/shared-key.ts';
import { clinicianToken, NHS_SYSTEM } from '../support/care-setting.ts';

// The channel is driven here through a subscriber whose send buffer the test controls: the stand-in
// for a client that stops reading. The outbox underneath is the real one, in PostgreSQL.
const LIMIT = 8 * 1024;
let service: TestService;
let seq = 0;
beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '0' } });
});
afterAll(async () => {
  await service?.stop();
});

/** An LA whose outbox holds `count` notifications (one unscheduled lookup each). */
async function laWithNotifications(count: number) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const records = Array.from({ length: count }, () => childRecord());
  expect((await uploadJson(service, token, ++seq, records)).status).toBe(201);
  const dr = await clinicianToken(service, { sub: `dr-${org}` });
  const lookUp = (nhs: string) =>
    service.fetch(`/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`, { token: dr });
  let next = 0;
  const lookUpAll = async (nhsNumbers: string[]) => {
    const queue = [...nhsNumbers];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let nhs = queue.shift(); nhs; nhs = queue.shift()) expect((await lookUp(nhs)).status).toBe(200);
    }));
  };
  await lookUpAll(records.slice(0, count).map((r) => r.nhsNumber as string));
  next = count;
  return { org, more: async (n: number) => {
    const extra = Array.from({ length: n }, () => childRecord());
    expect((await uploadJson(service, token, ++seq, extra)).status).toBe(201);
    await lookUpAll(extra.map((r) => r.nhsNumber as string));
    next += n;
  }, last: () => next };
}

/** A subscriber whose client reads only when told to: `queued` is what its socket would still have to send. */
function pausedSubscriber(laCode: string, lastSent = 0) {
  const received: Notification[] = [];
  const state = { queued: 0, reading: false, closed: undefined as { code: number; reason: string } | undefined };
  const sub: Subscriber = {
    laCode,
    lastSent,
    send: (n) => {
      received.push(n);
      if (!state.reading) state.queued += JSON.stringify(n).length;
    },
    sendAck: () => undefined,
    buffered: () => state.queued,
    close: (code, reason) => (state.closed = { code, reason }),
  };
  return { sub, received, state, read: () => ((state.reading = true), (state.queued = 0)), stopReading: () => (state.reading = false) };
}

const channelFor = (laCode: string, store = createPostgresNotificationStore(service.composition.pool), slowConsumerMs = 5_000) =>
  createLaChannel(laCode, {
    store,
    metrics: { notificationDelivered: () => undefined },
    health: { failed: () => undefined, succeeded: () => undefined },
    limits: { maxBufferedBytes: LIMIT, slowConsumerMs },
  });

const numbers = (list: Notification[]) => list.map((n) => n.eventNumber);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('stream backpressure', () => {
  it('pauses a replay while the client is behind and resumes, in order, as it reads', async () => {
    const la = await laWithNotifications(600);
    const channel = channelFor(la.org);
    const client = pausedSubscriber(la.org);
    const joined = channel.join(client.sub);
    await sleep(300);
    // Held at the limit: one frame past it at most, not the whole replay.
    const sentWhilePaused = client.received.length;
    expect(sentWhilePaused).toBeGreaterThan(0);
    expect(client.state.queued).toBeLessThan(LIMIT + 2_000);
    await sleep(200);
    expect(client.received.length).toBe(sentWhilePaused);
    client.read();
    await joined;
    expect(numbers(client.received)).toEqual(range(1, 600));
    expect(client.state.closed).toBeUndefined();
  });

  it('closes a client that stays behind for STREAM_SLOW_CONSUMER_SECONDS with 4001, naming where to resume', async () => {
    const la = await laWithNotifications(300);
    const channel = channelFor(la.org, undefined, 300);
    const client = pausedSubscriber(la.org);
    const failure = await channel.join(client.sub).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeDefined();
    closeForFailure(client.sub, failure);
    const last = client.received.at(-1)?.eventNumber;
    expect(client.state.closed).toEqual({ code: CLOSE_TOO_SLOW, reason: `too slow: reconnect with after=${last}` });
    expect(numbers(client.received)).toEqual(range(1, last as number));
  });

  it('takes a live client that stops reading out of the live set, keeps the others going, and lets it catch up', async () => {
    const la = await laWithNotifications(5);
    const channel = channelFor(la.org);
    const slow = pausedSubscriber(la.org, la.last());
    const brisk = pausedSubscriber(la.org, la.last());
    brisk.read();
    await Promise.all([channel.join(slow.sub), channel.join(brisk.sub)]);
    slow.state.queued = LIMIT + 1;
    await la.more(200);
    channel.pump();
    await sleep(300);
    expect(numbers(brisk.received)).toEqual(range(6, 205));
    expect(slow.received.length).toBeLessThan(200);
    slow.read();
    await la.more(1);
    // Caught up on its own, then live again: the pump's new row reaches both.
    for (let i = 0; i < 100 && (slow.received.length < 201 || brisk.received.length < 201); i++) {
      channel.pump();
      await sleep(30);
    }
    expect(numbers(slow.received)).toEqual(range(6, 206));
    expect(numbers(brisk.received)).toEqual(range(6, 206));
    expect(slow.state.closed).toBeUndefined();
  });

  it('fails a replay whose outbox cannot be read, so that the socket is closed with 1013 and after=', async () => {
    const la = await laWithNotifications(3);
    const gone = new pg.Pool({ connectionString: service.databaseUrl });
    await gone.end();
    const channel = channelFor(la.org, createPostgresNotificationStore(gone));
    const client = pausedSubscriber(la.org, 1);
    client.read();
    const failure = await channel.join(client.sub).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeDefined();
    closeForFailure(client.sub, failure);
    expect(client.state.closed).toEqual({ code: CLOSE_TRY_AGAIN_LATER, reason: 'delivery interrupted: reconnect with after=1' });
    expect(channel.status().healthy).toBe(false);
  });
});

describe('with real sockets that stop reading', () => {
  it('stops sending to a socket whose client stopped reading and closes it with 4001; without the limit it would queue everything', async () => {
    const databaseUrl = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-slow-'));
    const token = await sharedKeyTokens(dataDir);
    const common = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, RATE_LIMIT_PER_SECOND: '0', STREAM_SLOW_CONSUMER_SECONDS: '2' };
    // The same service twice: the default limit, and the largest one (as good as none for this outbox).
    const [bounded, unbounded] = await Promise.all([spawnService(common, 45_000), spawnService({ ...common, STREAM_MAX_BUFFERED_BYTES: '67108864' }, 45_000)]);
    try {
      const org = syntheticLaCode();
      // About 7 MB of frames: more than the kernel's socket buffers take from a client that reads nothing.
      const total = await fillOutbox(databaseUrl, org, 15_000);
      const worker = await token({ sub: 'slow-worker', role: 'social-worker', org });
      const [held, queued] = await Promise.all([pausedSocket(bounded.url, worker), pausedSocket(unbounded.url, worker)]);
      await sleep(3_500);

      // What the bounded instance had sent when it gave up: a prefix, then the close saying where to resume.
      const closed = await within(held.resume(), 30_000, () => `the bounded instance did not close the paused stream (${held.eventNumbers.length} frames read)`);
      const last = held.eventNumbers.at(-1) as number;
      expect(held.eventNumbers).toEqual(range(1, last));
      expect(last).toBeLessThan(total);
      expect(closed).toEqual({ code: CLOSE_TOO_SLOW, reason: `too slow: reconnect with after=${last}` });
      // The unbounded one had queued the whole replay in its own memory for a client that was not reading.
      queued.ws.resume();
      await until(() => queued.eventNumbers.length === total, 30_000);
      expect(queued.eventNumbers).toEqual(range(1, total));
      queued.ws.terminate();
    } finally {
      for (const instance of [bounded, unbounded]) instance.child.kill('SIGKILL');
      await Promise.all([bounded.exited, unbounded.exited]);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});

/** The promise's value, or a failure that says what did not happen (rather than the test's own timeout, which says nothing). */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(50);
  }
}

/** Writes `count` access notifications for the LA straight into its outbox, as record_access() would number them. */
async function fillOutbox(databaseUrl: string, laCode: string, count: number): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const body = {
      subject: { nhsNumber: '9990000018', familyName: 'Testchild', givenNames: 'Alex Sam', birthDate: '2018-01-01' },
      plan: { type: 'CPP', startDate: '2025-01-01' }, plans: [{ type: 'CPP', startDate: '2025-01-01', status: 'active' }],
      accessedBy: { name: 'Dr Test Clinician', userId: 'dr-1', role: 'clinician', organisationCode: 'RXX01', organisationName: 'Example General Hospital ED', setting: 'emergency-department' },
      outOfHours: false,
    };
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
       SELECT $1, g, 'access', now(), '9990000018', $3::jsonb FROM generate_series(1, $2::int) g`,
      [laCode, count, JSON.stringify(body)],
    );
    await db.query('INSERT INTO la_event_counters (la_code, last_event_number) VALUES ($1, $2)', [laCode, count]);
    await db.query('COMMIT');
  } finally {
    await db.end();
  }
  return count;
}

/** A stream replaying from the start whose client reads nothing until resume(). */
async function pausedSocket(url: string, bearer: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/la/v1/notifications/stream?after=0`, { headers: { authorization: `Bearer ${bearer}` } });
  const eventNumbers: number[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; notification?: { eventNumber: number } };
    if (frame.notification) eventNumbers.push(frame.notification.eventNumber);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.pause();
  return { ws, eventNumbers, resume: () => (ws.resume(), closed) };
}
