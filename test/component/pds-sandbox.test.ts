import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { allowNetwork, denyNetwork, PDS_TEST_DAY } from '../support/pds.ts';

let service: TestService;

beforeAll(async () => {
  // No nock interceptor at all: sandbox mode must answer from the project's own files.
  denyNetwork();
  service = await startTestService({ clock: movableClock(PDS_TEST_DAY), env: { PDS_MODE: 'sandbox', PDS_RECHECK_POLL_SECONDS: '0' } });
});
afterAll(async () => {
  await service?.stop();
  allowNetwork();
});

const born = { birthDate: '2010-10-22', startDate: '2025-01-10' };

describe('PDS_MODE=sandbox', () => {
  it('answers as NHS England’s published sandbox does, without any network', async () => {
    const token = await laToken(service, syntheticLaCode());
    const res = await uploadJson(service, token, 1, [
      childRecord({ nhsNumber: '9000000025', familyName: 'Smythe', givenNames: 'Janet', ...born }),
      childRecord({ nhsNumber: '9000000009', familyName: 'Smith', givenNames: 'Jane', ...born }),
      childRecord({ nhsNumber: '9000000017', familyName: 'Smith', givenNames: 'Jayne', ...born }),
      childRecord({ nhsNumber: '9000000033', familyName: 'Anyone', givenNames: 'Sam', ...born }),
      childRecord({ nhsNumber: syntheticNhsNumber() }),
    ]);
    expect(res.status).toBe(201);
    const ack = await res.json();
    expect(ack).toMatchObject({ result: 'CPF04', processed: 5, loaded: 0 });
    expect(ack.records.map((r: { result: string; detail: { code: string; field: string } }) => [r.result, r.detail.code, r.detail.field])).toEqual([
      ['CPR02', 'PDS_RESTRICTED', 'nhsNumber'],
      ['CPR07', 'PDS_DECEASED', 'nhsNumber'],
      ['CPR03', 'PDS_FAMILY_NAME_MISMATCH', 'familyName'],
      ['CPR03', 'PDS_FAMILY_NAME_MISMATCH', 'familyName'],
      ['CPR01', 'PDS_NO_MATCH', 'nhsNumber'],
    ]);
  });
});
