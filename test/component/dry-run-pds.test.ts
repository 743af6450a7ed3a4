import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { movableClock } from '../support/clock.ts';
import { laToken, startTestService, type JsonResponse, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import {
  allowNetwork, createPdsKeys, denyNetwork, living, mockTokenEndpoint, pdsEnv, pdsError, pdsFixture, pdsRead, PDS_TEST_DAY, type TokenEndpoint,
} from '../support/pds.ts';

// A dry run (POST /la/v1/uploads?dryRun=true) cross-checks on PDS as the upload would. In a file of its own:
// nock, once loaded, holds back the bodies that the slow uploads of dry-run.test.ts send in pieces.

const post = (service: TestService, token: string, body: unknown, query = '?dryRun=true'): Promise<JsonResponse> =>
  service.fetch(`/la/v1/uploads${query}`, { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const verdict = ({ sequenceNumber, result, processed, loaded, rejected, records, refusalCounts }: Record<string, unknown>) =>
  ({ sequenceNumber, result, processed, loaded, rejected, records, refusalCounts });

// The published example Jane Smith, 9000000009, as in pds-uploads.test.ts.
const JANE = { nhsNumber: '9000000009', familyName: 'Smith', givenNames: 'Jane', birthDate: '2010-10-22', startDate: '2025-01-10' };

describe('dry runs cross-checked on PDS', () => {
  let service: TestService;
  let tokens: TokenEndpoint;
  const clock = movableClock(PDS_TEST_DAY);
  beforeAll(async () => {
    denyNetwork();
    const keys = await createPdsKeys();
    tokens = mockTokenEndpoint(keys.publicKey, clock);
    service = await startTestService({ clock, env: pdsEnv(keys.privateKeyFile) });
  });
  afterEach(() => {
    expect(nock.pendingMocks().filter((m) => !m.includes('oauth2'))).toEqual([]);
    expect(tokens.problems).toEqual([]);
  });
  afterAll(async () => {
    await service?.stop();
    allowNetwork();
  });

  it('asks PDS as the upload would, answers with its verdicts, and keeps none of them; the upload then puts the refused child on the worklist', async () => {
    const token = await laToken(service, syntheticLaCode());
    const unknown = syntheticNhsNumber();
    const records = [childRecord(JANE), childRecord({ nhsNumber: unknown })];
    pdsRead(JANE.nhsNumber).reply(200, living(pdsFixture('Patient')));
    pdsRead(unknown).reply(404, pdsError('RESOURCE_NOT_FOUND'));
    const dry = await post(service, token, { sequenceNumber: 1, records });
    expect(dry.status).toBe(200);
    const ack = await dry.json();
    expect(ack).toMatchObject({ dryRun: true, result: 'CPF03', loaded: 1, records: [{ index: 1, result: 'CPR01', detail: { code: 'PDS_NO_MATCH' } }] });
    expect(nock.pendingMocks().filter((m) => !m.includes('oauth2'))).toEqual([]);
    expect((await (await service.fetch('/la/v1/plans', { token })).json()).plans).toEqual([]);
    expect((await (await service.fetch('/la/v1/refusals', { token })).json()).total).toBe(0);

    pdsRead(JANE.nhsNumber).reply(200, living(pdsFixture('Patient')));
    pdsRead(unknown).reply(404, pdsError('RESOURCE_NOT_FOUND'));
    const real = await post(service, token, { sequenceNumber: 1, records }, '');
    expect([real.status, verdict(await real.json())]).toEqual([201, verdict(ack)]);
    const worklist = await (await service.fetch('/la/v1/refusals', { token })).json();
    expect(worklist.refusals).toEqual([expect.objectContaining({ nhsNumber: unknown, result: 'CPR01', detail: expect.objectContaining({ code: 'PDS_NO_MATCH' }) })]);
  });
});
