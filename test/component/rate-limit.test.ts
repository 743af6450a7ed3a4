import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticLaCode } from '../support/synthetic.ts';
import { bareLaToken, startTestService, type TestService } from '../support/service.ts';
import { clinicianToken } from '../support/care-setting.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '5' } });
});
afterAll(async () => {
  await service?.stop();
});

describe('RATE_LIMIT_PER_SECOND (per token subject)', () => {
  it('answers 429 TOO_MANY_REQUESTS with Retry-After above the limit, per subject, and recovers', async () => {
    // Bare: setting the LA up would spend one of the five requests.
    const token = await bareLaToken(service, syntheticLaCode());
    // Sent together, so that a slow machine cannot refill the bucket between them.
    const burst = await Promise.all(Array.from({ length: 12 }, () => service.fetch('/la/v1/organisation', { token })));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const limited = burst.find((r) => r.status === 429);
    if (!limited) throw new Error(`no 429 in a burst of 12 over a limit of 5: ${statuses.join(', ')}`);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited.json()).issue[0].details.coding[0]).toMatchObject({ system: 'https://fhir.cpis.example/CodeSystem/error-code', code: 'TOO_MANY_REQUESTS', display: 'Too many requests' });
    // Another caller is not held back by the first one's burst, on the FHIR API too.
    const other = await clinicianToken(service, { sub: 'someone-else' });
    expect((await service.fetch('/cpis/FHIR/R4/CareTeam?patient=9990000018', { token: other })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await service.fetch('/la/v1/organisation', { token })).status).toBe(200);
  });
});
