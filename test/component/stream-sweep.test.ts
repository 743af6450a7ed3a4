import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { openStream, type Frame } from '../support/stream-client.ts';

// The sweep (OUTBOX_SWEEP_MS) is the safety net for a wake-up that never came: it reads every LA's
// counters in one statement and then the outboxes that moved. A notification committed with no NOTIFY
// at all must still reach the LA's open streams, by the sweep alone.
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService({ env: { OUTBOX_SWEEP_MS: '200' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const numbers = (frames: Frame[]) => frames.filter((f) => f.type === 'notification').map((f) => f.notification.eventNumber as number);

/** Copies the LA's notification 1 as the next one, with triggers off: committed, counted, and no wake-up sent. */
async function commitWithoutWakeUp(la: string, eventNumber: number): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(
      `INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
       SELECT la_code, $2, type, occurred_at, nhs_number, body FROM notifications WHERE la_code = $1 AND event_number = 1`,
      [la, eventNumber],
    );
    await client.query('UPDATE la_event_counters SET last_event_number = $2 WHERE la_code = $1', [la, eventNumber]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

describe('the outbox sweep', () => {
  it('delivers a notification whose wake-up never came, to the streams of its LA only', async () => {
    const [a, b] = [syntheticLaCode(), syntheticLaCode()];
    const records = { [a]: childRecord(), [b]: childRecord() };
    for (const la of [a, b]) expect((await uploadJson(service, await laToken(service, la), 1, [records[la]])).status).toBe(201);
    const dr = await clinicianToken(service, { sub: 'sweep-dr' });
    const streams = Object.fromEntries(await Promise.all([a, b].map(async (la) => {
      const worker = await service.token({ role: 'social-worker', org: la, sub: `sw-${la}`, name: 'Duty Worker' });
      return [la, await openStream(service, { token: worker, after: 0 })] as const;
    })));
    for (const la of [a, b]) await searchFor(service, dr, 'CareTeam', records[la]?.nhsNumber as string);
    for (const la of [a, b]) await streams[la]?.waitFor((f) => numbers(f).length === 1);

    await commitWithoutWakeUp(a, 2);
    await streams[a]?.waitFor((f) => numbers(f).length === 2, 3_000);
    expect(numbers(streams[a]?.frames ?? [])).toEqual([1, 2]);
    // A few sweeps later, the other LA has been sent nothing more.
    await new Promise((r) => setTimeout(r, 600));
    expect(numbers(streams[b]?.frames ?? [])).toEqual([1]);
    for (const s of Object.values(streams)) s.ws.close();
  });
});
