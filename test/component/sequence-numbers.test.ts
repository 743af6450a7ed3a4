import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { runToExit } from '../support/process.ts';

const CLI = fileURLToPath(new URL('../../src/cli/sequence-restart.ts', import.meta.url));
const MAX = 9_007_199_254_740_991; // 2^53 − 1, as the README states

let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService();
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db.end();
  await service.stop();
});

const ndjson = (token: string, sequence: string) =>
  service.fetch('/la/v1/uploads', {
    method: 'POST', token, body: `${JSON.stringify(childRecord())}\n`, headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': sequence },
  });
const restart = (la: string, extra: string[] = []) => runToExit([CLI, '--la', la, '--operator', 'test-operator', ...extra], { DATABASE_URL: service.databaseUrl, DATA_DIR: service.dataDir });

describe('batch sequence numbers', () => {
  it('takes numbers up to 2^53 − 1 and refuses larger ones, saying the range, in the body and in X-Sequence-Number', async () => {
    const token = await laToken(service, syntheticLaCode());
    for (const bad of ['9007199254740992', '9007199254740993', '99999999999999999999', '0']) {
      const inBody = await service.fetch('/la/v1/uploads', {
        method: 'POST', token, body: `{"sequenceNumber":${bad},"records":[]}`, headers: { 'content-type': 'application/json' },
      });
      expect(inBody.status).toBe(400);
      expect((await inBody.json()).issue[0].diagnostics).toContain(`from 1 to ${MAX}`);
      const inHeader = await ndjson(token, bad);
      expect(inHeader.status).toBeGreaterThanOrEqual(400);
      expect((await inHeader.json()).issue[0].diagnostics).toContain(`from 1 to ${MAX}`);
    }
    const top = await uploadJson(service, token, MAX, [childRecord()]);
    expect(top.status).toBe(201);
    expect((await top.json()).sequenceNumber).toBe(MAX);
  });

  it('lets an operator restart the numbering of an LA that reached the top, keeping its earlier acknowledgements and auditing the restart', async () => {
    const la = syntheticLaCode();
    const token = await laToken(service, la);
    expect((await uploadJson(service, token, 5, [childRecord()])).status).toBe(201);
    const stuck = await uploadJson(service, token, MAX, [childRecord()]);
    expect(stuck.status).toBe(201);
    const stuckAck = await stuck.json();
    // Stuck: nothing can follow the largest number, and lower ones go backwards.
    expect((await uploadJson(service, token, 6, [childRecord()])).status).toBe(409);

    const run = await restart(la);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`LA ${la}: numbering restarted (series 2; the last batch before it was ${MAX})`);

    const first = await uploadJson(service, token, 1, [childRecord()]);
    expect(first.status).toBe(201);
    const firstAck = await first.json();
    // Within the new series, the usual rules: a resend replays, a lower number is refused.
    const resent = await uploadJson(service, token, 1, []);
    expect(resent.status).toBe(200);
    expect(await resent.json()).toEqual(firstAck);
    expect((await uploadJson(service, token, 2, [childRecord()])).status).toBe(201);

    const { rows } = await db.query<{ series: number; n: string; ack: { uploadId: string } }>(
      'SELECT series, sequence_number AS n, acknowledgement AS ack FROM uploads WHERE la_code = $1 ORDER BY series, sequence_number', [la],
    );
    expect(rows.map((r) => [r.series, Number(r.n)])).toEqual([[1, 5], [1, MAX], [2, 1], [2, 2]]);
    expect(rows[1]?.ack.uploadId).toBe(stuckAck.uploadId);
    const audit = await db.query<{ user_id: string; detail: unknown }>(`SELECT user_id, detail FROM audit_events WHERE action = 'upload:sequence-restart' AND detail->>'laCode' = $1`, [la]);
    expect(audit.rows).toEqual([{ user_id: 'test-operator', detail: { laCode: la, series: 2, lastSequenceNumber: MAX } }]);
  });

  it('restarts only the LA named: another LA keeps its numbering', async () => {
    const [a, b] = [syntheticLaCode(), syntheticLaCode()];
    const [tokenA, tokenB] = await Promise.all([laToken(service, a), laToken(service, b)]);
    expect((await uploadJson(service, tokenA, 10, [childRecord()])).status).toBe(201);
    expect((await uploadJson(service, tokenB, 10, [childRecord()])).status).toBe(201);
    expect((await restart(a)).code).toBe(0);
    expect((await uploadJson(service, tokenA, 1, [childRecord()])).status).toBe(201);
    expect((await uploadJson(service, tokenB, 1, [childRecord()])).status).toBe(409);
  });

  it('tells the operator what went wrong: an unknown LA, a bad call', async () => {
    const unknown = await restart('NOSUCHLA99');
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toContain('no LA with code NOSUCHLA99');
    const usage = await runToExit([CLI], { DATABASE_URL: service.databaseUrl, DATA_DIR: service.dataDir });
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('usage: npm run --silent sequence-restart');
    expect((await runToExit([CLI, '--la', "x'; DROP TABLE uploads; --"], { DATABASE_URL: service.databaseUrl, DATA_DIR: service.dataDir })).code).toBe(64);
  });
});
