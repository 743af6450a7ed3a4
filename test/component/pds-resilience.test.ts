import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import {
  allowNetwork, createPdsKeys, denyNetwork, living, mockTokenEndpoint, numbered, pdsEnv, pdsError, pdsFixture, pdsRead, PDS_TEST_DAY,
  type TokenEndpoint,
} from '../support/pds.ts';

// A child PDS confirms: the published Jane Smith, alive, under a synthetic number.
const confirmed = (nhsNumber: string) => living(numbered(pdsFixture('Patient'), nhsNumber));
const record = (nhsNumber: string) => childRecord({ nhsNumber, familyName: 'Smith', givenNames: 'Jane', birthDate: '2010-10-22', startDate: '2025-01-10' });

let keys: Awaited<ReturnType<typeof createPdsKeys>>;
let tokens: TokenEndpoint;
const clock = movableClock(PDS_TEST_DAY);

beforeAll(async () => {
  denyNetwork();
  keys = await createPdsKeys();
  tokens = mockTokenEndpoint(keys.publicKey, clock);
});
afterAll(() => {
  expect(tokens.problems).toEqual([]);
  allowNetwork();
});

/** A service of its own, so that its circuit breaker and token cache start fresh. */
function useService(env: Record<string, string>): { current: TestService; token: string } {
  const holder = {} as { current: TestService; token: string };
  beforeAll(async () => {
    holder.current = await startTestService({ clock, env: pdsEnv(keys.privateKeyFile, env) });
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return holder;
}

async function freshLa(service: TestService) {
  return laToken(service, syntheticLaCode());
}

async function plansOf(service: TestService, token: string) {
  return (await (await service.fetch('/la/v1/plans', { token })).json()).plans as unknown[];
}

describe('retries', () => {
  const service = useService({ PDS_BREAKER_FAILURES: '50', PDS_MAX_RETRIES: '3' });

  it('retries a 503, a 429 and a timeout with backoff, then loads', async () => {
    const nhsNumber = syntheticNhsNumber();
    const read = pdsRead(nhsNumber);
    read.reply(503, {});
    pdsRead(nhsNumber).reply(429, {});
    pdsRead(nhsNumber).reply(async () => {
      await sleep(1_000);
      return [200, confirmed(nhsNumber)];
    });
    const last = pdsRead(nhsNumber).reply(200, confirmed(nhsNumber));
    const token = await freshLa(service.current);
    const res = await uploadJson(service.current, token, 1, [record(nhsNumber)]);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ result: 'CPF02', loaded: 1 });
    expect(last.isDone()).toBe(true);
  });

  it('answers CPF05 at once, without retrying, when PDS refuses the application (403)', async () => {
    const nhsNumber = syntheticNhsNumber();
    const refused = pdsRead(nhsNumber).reply(403, pdsError('ACCESS_DENIED'));
    const token = await freshLa(service.current);
    const logged = service.current.logs.length;
    const res = await uploadJson(service.current, token, 1, [record(nhsNumber)]);
    expect(res.status).toBe(503);
    expect((await res.json()).issue[0].diagnostics).toMatch(/^CPF05/);
    expect(refused.isDone()).toBe(true);
    const failures = service.current.logs.slice(logged).filter((l) => l.includes('PDS lookup failed'));
    expect(failures).toEqual([expect.stringContaining('"status":403')]);
    expect(await plansOf(service.current, token)).toEqual([]);
  });

  it('answers CPF05 within a bounded time when PDS keeps timing out, loads nothing, and leaves the sequence number free', async () => {
    const slow = syntheticNhsNumber();
    const fine = syntheticNhsNumber();
    // One try and three retries, each cut off at 300 ms.
    pdsRead(slow)
      .times(4)
      .reply(async () => {
        await sleep(3_000);
        return [200, confirmed(slow)];
      });
    pdsRead(fine).times(2).reply(200, confirmed(fine));
    const token = await freshLa(service.current);
    const started = Date.now();
    const res = await uploadJson(service.current, token, 1, [record(fine), record(slow)]);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    const outcome = await res.json();
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].details.coding[0].code).toBe('UNABLE_TO_CALL_SERVICE');
    expect(outcome.issue[0].diagnostics).toMatch(/^CPF05/);
    // Four tries of 300 ms and three short backoffs: well inside 3 s.
    expect(elapsed).toBeLessThan(3_000);
    expect(await plansOf(service.current, token)).toEqual([]);

    pdsRead(slow).reply(200, confirmed(slow));
    const again = await uploadJson(service.current, token, 1, [record(fine), record(slow)]);
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ sequenceNumber: 1, result: 'CPF02', loaded: 2 });
  });
});

describe('circuit breaker', () => {
  const service = useService({ PDS_BREAKER_FAILURES: '3', PDS_MAX_RETRIES: '0', PDS_BREAKER_COOLDOWN_SECONDS: '30' });

  // cpis_pds_circuit_open, which CpisPdsCircuitOpen alerts on (ops/prometheus/cpis-alerts.yml).
  const breakerGauge = async () => /^cpis_pds_circuit_open (\d)$/m.exec(await (await service.current.fetch('/metrics')).text())?.[1];

  it('opens after consecutive failures, then answers CPF05 without calling PDS, and half-opens after the cool-down', async () => {
    const nhsNumber = syntheticNhsNumber();
    const failing = pdsRead(nhsNumber).times(3).reply(500, {});
    const recovered = pdsRead(nhsNumber).reply(200, confirmed(nhsNumber));
    const token = await freshLa(service.current);
    expect(await breakerGauge()).toBe('0');
    for (let i = 0; i < 3; i++) expect((await uploadJson(service.current, token, 1, [record(nhsNumber)])).status).toBe(503);
    expect(failing.isDone()).toBe(true);
    expect(await breakerGauge()).toBe('1');

    const started = Date.now();
    expect((await uploadJson(service.current, token, 1, [record(nhsNumber)])).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(500);
    expect(recovered.isDone()).toBe(false);
    expect(service.current.logs.some((l) => l.includes('"breaker":"open"'))).toBe(true);

    clock.advance(31_000);
    const res = await uploadJson(service.current, token, 1, [record(nhsNumber)]);
    expect(res.status).toBe(201);
    expect(recovered.isDone()).toBe(true);
    expect(service.current.logs.some((l) => l.includes('"breaker":"closed"'))).toBe(true);
    expect(await breakerGauge()).toBe('0');
    expect(service.current.logs.join('\n')).not.toContain(nhsNumber);
  });
});

describe('access token', () => {
  const service = useService({ PDS_MAX_CONCURRENCY: '5' });

  /** Answers "not found" for each number, noting the bearer token each request carried. */
  function notFound(numbers: string[], seen: string[]) {
    for (const n of numbers)
      pdsRead(n).reply(async (request: Request) => {
        seen.push(request.headers.get('authorization') ?? '');
        return [404, pdsError('RESOURCE_NOT_FOUND')];
      });
  }

  it('signs in once for many lookups, again once the token expires, and again when PDS refuses it', async () => {
    const token = await freshLa(service.current);
    const first: string[] = [];
    const before = tokens.requests;
    const batch = Array.from({ length: 8 }, () => syntheticNhsNumber());
    notFound(batch, first);
    expect((await (await uploadJson(service.current, token, 1, batch.map(record))).json()).rejected).toBe(8);
    expect(tokens.requests - before).toBe(1);
    expect(new Set(first).size).toBe(1);

    clock.advance(600_000);
    const second: string[] = [];
    const later = [syntheticNhsNumber(), syntheticNhsNumber()];
    notFound(later, second);
    await uploadJson(service.current, token, 2, later.map(record));
    expect(tokens.requests - before).toBe(2);
    expect(new Set(second).size).toBe(1);
    expect(second[0]).not.toBe(first[0]);

    const refused = syntheticNhsNumber();
    pdsRead(refused).reply(401, {});
    const third: string[] = [];
    notFound([refused], third);
    const res = await uploadJson(service.current, token, 3, [record(refused)]);
    expect((await res.json()).records[0].result).toBe('CPR01');
    expect(tokens.requests - before).toBe(3);
    expect(third[0]).not.toBe(second[0]);
  });
});

describe('rate limit and concurrency', () => {
  const service = useService({ PDS_RATE_LIMIT_PER_SECOND: '5', PDS_MAX_CONCURRENCY: '3', PDS_TIMEOUT_MS: '3000' });

  it('starts at most 5 lookups a second and keeps at most 3 in flight', async () => {
    const arrivals: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const numbers = Array.from({ length: 6 }, () => syntheticNhsNumber());
    for (const n of numbers)
      pdsRead(n).reply(async () => {
        arrivals.push(performance.now());
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(700);
        inFlight--;
        return [200, confirmed(n)];
      });
    const token = await freshLa(service.current);
    const res = await uploadJson(service.current, token, 1, numbers.map(record));
    expect(await res.json()).toMatchObject({ result: 'CPF02', loaded: 6 });
    // Slots 200 ms apart; the margins absorb scheduling noise on a busy machine.
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(100);
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(950);
    expect(maxInFlight).toBe(3);
  });
});
