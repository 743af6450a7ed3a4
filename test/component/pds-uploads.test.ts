import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { clinicianToken, includes, searchFor } from '../support/care-setting.ts';
import type { Patient } from 'fhir/r4.d.ts';
import {
  allowNetwork, compoundNameFixture, createPdsKeys, denyNetwork, living, mockTokenEndpoint, numbered, pdsEnv, pdsError, pdsFixture,
  pdsRead, PDS_TEST_DAY, type TokenEndpoint,
} from '../support/pds.ts';

// The published examples: Jane Smith, 9000000009, born 2010-10-22 (deceased as published);
// Janet Smythe, 9000000025, restricted.
const JANE = { nhsNumber: '9000000009', familyName: 'Smith', givenNames: 'Jane', birthDate: '2010-10-22', startDate: '2025-01-10' };
const JANET = { nhsNumber: '9000000025', familyName: 'Smythe', givenNames: 'Janet', birthDate: '2010-10-22', startDate: '2025-01-10' };

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
  // Every PDS answer a test set up was asked for, and nothing else was.
  expect(nock.pendingMocks().filter((m) => !m.includes('oauth2'))).toEqual([]);
  expect(tokens.problems).toEqual([]);
  // Warnings about PDS carry reasons only: no NHS number, name, birth date or token.
  expect(service.logs.join('\n')).not.toMatch(/9000000009|9000000025|Smith|2010-10-22|token-\d/);
});
afterAll(async () => {
  await service?.stop();
  allowNetwork();
});

async function upload(records: Record<string, unknown>[]) {
  const token = await laToken(service, syntheticLaCode());
  const res = await uploadJson(service, token, 1, records.map((r) => childRecord(r)));
  const plans = (await (await service.fetch('/la/v1/plans', { token })).json()).plans as Record<string, unknown>[];
  return { status: res.status, ack: await res.json(), plans };
}

describe('uploads cross-checked on PDS', () => {
  it('loads a record PDS confirms, with case and accents folded, after one authenticated read', async () => {
    pdsRead(JANE.nhsNumber).reply(200, living(pdsFixture('Patient')));
    const { status, ack, plans } = await upload([{ ...JANE, familyName: 'SMÍTH', givenNames: 'jane' }]);
    expect(status).toBe(201);
    expect(ack).toMatchObject({ result: 'CPF02', loaded: 1, records: [] });
    expect(plans.map((p) => p.nhsNumber)).toEqual([JANE.nhsNumber]);
    expect(tokens.requests).toBeGreaterThan(0);
  });

  it('refuses a restricted PDS record with CPR02 and holds nothing of it', async () => {
    pdsRead(JANET.nhsNumber).reply(200, pdsFixture('Sensitive_Patient'));
    const { ack, plans } = await upload([JANET]);
    expect(ack).toMatchObject({ result: 'CPF04', loaded: 0, records: [{ index: 0, result: 'CPR02', detail: { code: 'PDS_RESTRICTED', field: 'nhsNumber' } }] });
    expect(plans).toEqual([]);
  });

  it('answers CPR01 for a number PDS does not know, cannot hold, or has invalidated', async () => {
    const [unknown, malformed, invalidated] = [syntheticNhsNumber(), syntheticNhsNumber(), syntheticNhsNumber()];
    pdsRead(unknown).reply(404, pdsError('RESOURCE_NOT_FOUND'));
    pdsRead(malformed).reply(400, pdsError('INVALID_RESOURCE_ID'));
    pdsRead(invalidated).reply(404, pdsError('INVALIDATED_RESOURCE'));
    const { ack, plans } = await upload([{ nhsNumber: unknown }, { nhsNumber: malformed }, { nhsNumber: invalidated }]);
    expect(ack.records.map((r: { result: string; detail: { code: string } }) => [r.result, r.detail.code])).toEqual([
      ['CPR01', 'PDS_NO_MATCH'], ['CPR01', 'PDS_NO_MATCH'], ['CPR01', 'PDS_RECORD_INVALIDATED'],
    ]);
    expect(plans).toEqual([]);
  });

  it('answers CPR05 when PDS answers for a number with another, current one', async () => {
    const old = syntheticNhsNumber();
    // PDS returns the merged record: 9000000009's, asked for as `old`.
    pdsRead(old).reply(200, living(pdsFixture('Patient')));
    const { ack, plans } = await upload([{ ...JANE, nhsNumber: old }]);
    expect(ack.records).toEqual([{ index: 0, result: 'CPR05', detail: expect.objectContaining({ code: 'NHS_NUMBER_SUPERSEDED', field: 'nhsNumber' }) }]);
    expect(JSON.stringify(ack)).not.toContain(JANE.nhsNumber);
    expect(plans).toEqual([]);
  });

  it.each([
    ['familyName', { familyName: 'Smyth' }, 'PDS_FAMILY_NAME_MISMATCH'],
    ['givenNames', { givenNames: 'Janet' }, 'PDS_GIVEN_NAMES_MISMATCH'],
    ['birthDate', { birthDate: '2010-10-23' }, 'PDS_BIRTH_DATE_MISMATCH'],
  ])('answers CPR03 naming %s when it does not match PDS', async (field, change, code) => {
    pdsRead(JANE.nhsNumber).reply(200, pdsFixture('Patient'));
    const { ack, plans } = await upload([{ ...JANE, ...change }]);
    expect(ack.records).toEqual([{ index: 0, result: 'CPR03', detail: expect.objectContaining({ field, code }) }]);
    expect(JSON.stringify(ack)).not.toMatch(/Smyth|Janet|2010-10-2/);
    expect(plans).toEqual([]);
  });

  it('follows the given-name cascade: full, first, any', async () => {
    for (const [givenNames, loads] of [['John Paul', true], ['John', true], ['Paul', true], ['Peter', false]] as const) {
      const nhsNumber = syntheticNhsNumber();
      pdsRead(nhsNumber).reply(200, living(numbered(compoundNameFixture(), nhsNumber)));
      const { ack, plans } = await upload([{ nhsNumber, familyName: 'Smith', birthDate: '2010-10-22', givenNames, startDate: '2025-01-10' }]);
      if (loads) expect(plans.map((p) => p.givenNames)).toEqual([givenNames]);
      else expect(ack.records).toEqual([{ index: 0, result: 'CPR03', detail: expect.objectContaining({ field: 'givenNames' }) }]);
    }
  });

  it('reads PDS once for a child with two plans in one batch, and records when it confirmed them', async () => {
    const nhsNumber = syntheticNhsNumber();
    pdsRead(nhsNumber).reply(200, living(numbered(compoundNameFixture(), nhsNumber)));
    const child = { nhsNumber, familyName: 'Smith', givenNames: 'John Paul', birthDate: '2010-10-22' };
    const { ack, plans } = await upload([{ ...child, startDate: '2025-01-10' }, { ...child, planType: 'LAC', lacLegalStatus: 'S20', startDate: '2025-02-10' }]);
    expect(ack).toMatchObject({ result: 'CPF02', loaded: 2 });
    expect(plans.map((p) => p.pdsVerifiedAt)).toEqual([PDS_TEST_DAY.toISOString(), PDS_TEST_DAY.toISOString()]);
    // Clinicians are told the details shown were verified (UK Core's NHS number verification status 01).
    const bundle = await searchFor(service, await clinicianToken(service, { sub: 'verified-dr' }), 'CareTeam', nhsNumber);
    const patient = includes(bundle).find((r) => r.resourceType === 'Patient') as Patient;
    expect(patient.identifier?.[0]?.extension?.[0]?.valueCodeableConcept?.coding?.[0]).toMatchObject({ code: '01', display: 'Number present and verified' });
  });

  it('refuses a person PDS records as deceased, with a clear detail', async () => {
    pdsRead(JANE.nhsNumber).reply(200, pdsFixture('Patient'));
    const { ack, plans } = await upload([JANE]);
    expect(ack.records).toEqual([{ index: 0, result: 'CPR07', detail: { code: 'PDS_DECEASED', field: 'nhsNumber', message: expect.stringMatching(/deceased/) } }]);
    expect(plans).toEqual([]);
  });

  it('looks up only records that pass the publishing rules, lists rejections in record order, and never looks up a deletion', async () => {
    const good = syntheticNhsNumber();
    const unknown = syntheticNhsNumber();
    pdsRead(good).reply(200, living(numbered(pdsFixture('Patient'), good)));
    pdsRead(unknown).reply(404, pdsError('RESOURCE_NOT_FOUND'));
    const { ack } = await upload([
      { ...JANE, nhsNumber: unknown },
      { ...JANE, nhsNumber: good },
      { favouriteColour: 'blue' },
      { nhsNumber: syntheticNhsNumber(), deleteDate: '2025-06-01' },
    ]);
    expect(ack).toMatchObject({ result: 'CPF03', processed: 4, loaded: 2, rejected: 2 });
    expect(ack.records.map((r: { index: number; result: string }) => [r.index, r.result])).toEqual([[0, 'CPR01'], [2, 'CPR07']]);
  });
});
