import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream, refusedStatus, type Frame } from '../support/stream-client.ts';
import { movableClock } from '../support/clock.ts';

const clock = movableClock();
let service: TestService;
let seq = 0;
beforeAll(async () => {
  service = await startTestService({ clock, env: { STREAM_HEARTBEAT_SECONDS: '1', OUTBOX_SWEEP_MS: '60000' } });
});
afterAll(async () => {
  await service?.stop();
});

async function laWith(count: number) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const records = Array.from({ length: count }, () => childRecord());
  await uploadJson(service, token, ++seq, records);
  const worker = await service.token({ role: 'social-worker', org, sub: `sw-${org}`, name: 'Duty Worker' });
  return { org, token, worker, nhs: records.map((r) => r.nhsNumber as string) };
}

const numbers = (frames: Frame[]) => frames.filter((f) => f.type === 'notification').map((f) => f.notification.eventNumber as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /la/v1/notifications/stream', () => {
  it('replays after a number, then goes live with no gap and no duplicate at the seam', async () => {
    const la = await laWith(40);
    const dr = await clinicianToken(service, { sub: 'seam-dr' });
    for (const nhs of la.nhs.slice(0, 10)) await searchFor(service, dr, 'CareTeam', nhs);
    const client = await openStream(service, { token: la.worker, after: 3 });
    // Lookups race the replay: each must arrive exactly once, in order.
    await Promise.all(la.nhs.slice(10).map((nhs) => searchFor(service, dr, 'Flag', nhs)));
    await client.waitFor((f) => numbers(f).length >= 37);
    expect(numbers(client.frames)).toEqual(range(4, 40));
    const first = client.notifications()[0]?.notification;
    expect(first).toMatchObject({ eventNumber: 4, type: 'access', subject: { nhsNumber: la.nhs[3] }, accessedBy: { userId: 'seam-dr' } });
    client.ws.close();
  });

  it('starts live from now without ?after=, sends heartbeats, and keeps each LA to its own', async () => {
    const a = await laWith(2);
    const b = await laWith(1);
    const dr = await clinicianToken(service, { sub: 'wall-dr' });
    await searchFor(service, dr, 'CareTeam', a.nhs[0] as string);
    const clientA = await openStream(service, { token: a.worker });
    const clientB = await openStream(service, { token: b.worker });
    await searchFor(service, dr, 'CareTeam', a.nhs[1] as string);
    await clientA.waitFor((f) => numbers(f).length === 1 && f.some((x) => x.type === 'heartbeat'));
    expect(numbers(clientA.frames)).toEqual([2]);
    expect(clientA.frames.find((f) => f.type === 'heartbeat')).toEqual({ type: 'heartbeat', lastEventNumber: 2 });
    await clientB.waitFor((f) => f.some((x) => x.type === 'heartbeat'));
    expect(numbers(clientB.frames)).toEqual([]);
    clientA.ws.close();
    clientB.ws.close();
  });

  it('records ack frames, answers a malformed frame with an OperationOutcome and stays up', async () => {
    const la = await laWith(1);
    await searchFor(service, await clinicianToken(service, { sub: 'ack-dr' }), 'CareTeam', la.nhs[0] as string);
    const client = await openStream(service, { token: la.worker, after: 0 });
    await client.waitFor((f) => numbers(f).length === 1);
    client.ws.send('{"type":"ack"');
    client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 'one', extra: true }));
    await client.waitFor((f) => f.filter((x) => x.type === 'error').length === 2);
    const errors = client.frames.filter((f) => f.type === 'error');
    expect(errors[0]?.operationOutcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ details: { coding: [{ code: 'VALIDATION_ERROR' }] } }] });
    expect(JSON.stringify(errors[1]?.operationOutcome)).toMatch(/eventNumber|extra/);
    client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    await client.waitFor((f) => f.some((x) => x.type === 'acknowledged'));
    expect(client.frames.find((f) => f.type === 'acknowledged')).toEqual({ type: 'acknowledged', eventNumbers: [1] });
    const mailbox = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
    expect(mailbox.notifications[0]).toMatchObject({ acknowledgedBy: `sw-${la.org}`, acknowledgedAt: expect.any(String) });
    client.ws.close();
  });

  it('accepts a single-use ticket that expires within 60 s, and refuses what it should', async () => {
    const la = await laWith(1);
    const issue = async () => (await service.fetch('/la/v1/notifications/stream-tickets', { method: 'POST', token: la.worker })).json();
    const { ticket, expiresAt } = await issue();
    expect(new Date(expiresAt).getTime() - clock.now().getTime()).toBeLessThanOrEqual(60_000);
    const client = await openStream(service, { ticket });
    client.ws.close();
    expect(await refusedStatus(service, { ticket })).toBe(401);
    const late = (await issue()).ticket;
    clock.advance(61_000);
    expect(await refusedStatus(service, { ticket: late })).toBe(401);
    expect(await refusedStatus(service, { ticket: 'made-up' })).toBe(401);
    expect(await refusedStatus(service, {})).toBe(401);
    expect(await refusedStatus(service, { token: await clinicianToken(service) })).toBe(403);
  });
});

describe('fan-out across instances and shutdown', () => {
  it('delivers a notification committed on one instance to sockets on another', async () => {
    const other = await startTestService({ clock, databaseUrl: service.databaseUrl, dataDir: service.dataDir, env: { OUTBOX_SWEEP_MS: '60000' } });
    try {
      const la = await laWith(3);
      const onOther = await openStream(other, { token: la.worker, after: 0 });
      const onThis = await openStream(service, { token: la.worker, after: 0 });
      const dr = await clinicianToken(service, { sub: 'fan-dr' });
      for (const nhs of la.nhs) await searchFor(service, dr, 'CareTeam', nhs);
      await onOther.waitFor((f) => numbers(f).length === 3, 5_000);
      await onThis.waitFor((f) => numbers(f).length === 3, 5_000);
      expect(numbers(onOther.frames)).toEqual([1, 2, 3]);
      onThis.ws.close();
      // SIGTERM-style stop closes held sockets with 1001.
      await other.stop();
      expect((await onOther.closed).code).toBe(1001);
    } finally {
      await other.stop();
    }
  });
});
