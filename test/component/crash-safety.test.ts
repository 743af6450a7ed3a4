import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { runToExit, spawnService } from '../support/process.ts';
import { setUpTestLa } from '../support/service.ts';

const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function token(dataDir: string, ...args: string[]) {
  const { stdout, code } = await runToExit([TOKEN_CLI, ...args], { DATA_DIR: dataDir });
  expect(code).toBe(0);
  return stdout.trim();
}

/** Every notification the stream replays after 0, once it has caught up with the LA's last number. */
async function replayAll(url: string, worker: string, last: number): Promise<{ eventNumber: number; subject: { nhsNumber: string } }[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/la/v1/notifications/stream?after=0`, { headers: { authorization: `Bearer ${worker}` } });
  const received: { eventNumber: number; subject: { nhsNumber: string } }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replay stopped at ${received.length} of ${last}`)), 20_000);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'notification') received.push(frame.notification);
      if (received.length >= last) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('error', reject);
  });
  ws.close();
  return received;
}

describe('crash safety on the embedded PostgreSQL', () => {
  it('delivers by replay every notification whose lookup got its 200 before a SIGKILL', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cpis-crash-'));
    const org = syntheticLaCode();
    const first = await spawnService({ DATA_DIR: dir });
    const la = await token(dir, '--role', 'la-system', '--org', org);
    await setUpTestLa(first.url, la, `${org} Council`);
    const worker = await token(dir, '--role', 'social-worker', '--org', org);
    const clinician = await token(dir, '--role', 'clinician', '--org', 'RXX01', '--activity', 'B0107');
    const records = Array.from({ length: 400 }, () => childRecord());
    const upload = await fetch(`${first.url}/la/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${la}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sequenceNumber: 1, records }),
    });
    expect(upload.status).toBe(201);

    // A burst of lookups, 8 at a time; the service is killed while they are in flight.
    const answered: string[] = [];
    let next = 0;
    const lookUp = async () => {
      while (next < records.length) {
        const nhs = records[next++]?.nhsNumber as string;
        try {
          const res = await fetch(`${first.url}/cpis/FHIR/R4/CareTeam?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`, {
            headers: { authorization: `Bearer ${clinician}` },
          });
          if (res.status === 200 && ((await res.json()) as { total: number }).total === 1) answered.push(nhs);
        } catch {
          return; // the connection died with the process: this lookup was never acknowledged
        }
      }
    };
    const burst = Promise.all(Array.from({ length: 8 }, lookUp));
    while (answered.length < 60) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    await burst;
    await first.exited;
    expect(answered.length).toBeGreaterThanOrEqual(60);
    expect(answered.length).toBeLessThan(records.length);

    const second = await spawnService({ DATA_DIR: dir });
    try {
      const mailbox = (await (await fetch(`${second.url}/la/v1/notifications?limit=1`, { headers: { authorization: `Bearer ${worker}` } })).json()) as { lastEventNumber: number };
      expect(mailbox.lastEventNumber).toBeGreaterThanOrEqual(answered.length);
      const replayed = await replayAll(second.url, worker, mailbox.lastEventNumber);
      expect(replayed.map((n) => n.eventNumber)).toEqual(Array.from({ length: mailbox.lastEventNumber }, (_, i) => i + 1));
      const notified = new Set(replayed.map((n) => n.subject.nhsNumber));
      expect(answered.filter((nhs) => !notified.has(nhs))).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
