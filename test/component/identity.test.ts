import type { Bundle, OperationOutcome, Patient } from 'fhir/r4.d.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticLaCode, syntheticNhsNumber, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, includes, searchFor } from '../support/care-setting.ts';
import { validateFhir } from '../support/fhir-schema.ts';

// The issue's own case: one LA holds a CPP for a child as Sam Example, born 2016-05-01, and then
// sends a LAC for the same NHS number as someone else.
let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const sam = (nhsNumber: string, overrides: Record<string, unknown> = {}) => ({
  nhsNumber, familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-01', postcode: 'LS1 4AP', planType: 'CPP', startDate: yearsAgo(1), ...overrides,
});
const lac = { planType: 'LAC', lacLegalStatus: 'S31', startDate: yearsAgo(0, 30) };

async function la() {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  let seq = 0;
  return {
    org,
    token,
    upload: async (records: Record<string, unknown>[]) => (await uploadJson(service, token, ++seq, records)).json(),
    plans: async () => (await (await service.fetch('/la/v1/plans', { token })).json()).plans as Record<string, unknown>[],
    mailbox: async () => (await (await service.fetch('/la/v1/notifications', { token })).json()).notifications as Record<string, unknown>[],
  };
}

const outcomesOf = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'outcome').map((e) => e.resource as OperationOutcome);

describe('one identity per NHS number within an LA', () => {
  it('refuses a second plan that names the child differently (DEMOGRAPHICS_CONFLICT, fields not values), keeping what is held', async () => {
    const nhs = syntheticNhsNumber();
    const a = await la();
    expect((await a.upload([sam(nhs)])).result).toBe('CPF02');
    const ack = await a.upload([sam(nhs, { ...lac, familyName: 'Otherchild', givenNames: 'Alex', birthDate: '2015-02-03' })]);
    expect(ack).toMatchObject({ result: 'CPF04', loaded: 0, rejected: 1 });
    expect(ack.records).toEqual([{
      index: 0, result: 'CPR07',
      detail: { code: 'DEMOGRAPHICS_CONFLICT', field: 'familyName', message: expect.stringMatching(/^familyName, givenNames, birthDate differ from what this LA holds/) },
    }]);
    expect(JSON.stringify(ack)).not.toMatch(/Otherchild|Alex|2015-02-03/);
    expect((await a.plans()).map((p) => [p.planType, p.familyName])).toEqual([['CPP', 'Example']]);
    // The same details on a second plan are one child with two plans.
    expect((await a.upload([sam(nhs, lac)])).result).toBe('CPF02');
    expect(await a.plans()).toHaveLength(2);
  });

  it('takes a change of details that the batch carries for every plan of the child, and refuses a batch that disagrees with itself', async () => {
    const nhs = syntheticNhsNumber();
    const a = await la();
    await a.upload([sam(nhs), sam(nhs, lac)]);
    const renamed = { familyName: 'Renamed', postcode: 'LS2 9JT' };
    expect(await a.upload([sam(nhs, renamed), sam(nhs, { ...lac, ...renamed })])).toMatchObject({ result: 'CPF02', loaded: 2 });
    expect((await a.plans()).map((p) => p.familyName)).toEqual(['Renamed', 'Renamed']);
    // Only one of the two plans changed: the other still holds the old details.
    const half = await a.upload([sam(nhs, { familyName: 'Halfway' })]);
    expect(half.records[0].detail).toMatchObject({ code: 'DEMOGRAPHICS_CONFLICT', field: 'familyName' });

    const fresh = syntheticNhsNumber();
    const split = await a.upload([sam(fresh), sam(fresh, { ...lac, birthDate: '2016-05-02' })]);
    expect(split).toMatchObject({ result: 'CPF04', rejected: 2 });
    expect(split.records.map((r: { index: number; detail: { field: string } }) => [r.index, r.detail.field])).toEqual([[0, 'birthDate'], [1, 'birthDate']]);
  });
});

describe('one identity across LAs', () => {
  it('shows one person by one rule, warns the clinician with an outcome entry, and tells each LA what differs', async () => {
    const nhs = syntheticNhsNumber();
    const a = await la();
    const b = await la();
    await a.upload([sam(nhs)]);
    await b.upload([sam(nhs, { ...lac, birthDate: '2016-05-11' })]);
    const dr = await clinicianToken(service, { sub: 'identity-dr' });
    const bundle = await searchFor(service, dr, 'CareTeam', nhs);
    expect(validateFhir(bundle)).toEqual([]);
    expect(bundle.total).toBe(2);
    // The rule: no plan confirmed by PDS here, so the most recently updated one, B's.
    const patient = includes(bundle).find((r) => r.resourceType === 'Patient') as Patient;
    expect(patient.birthDate).toBe('2016-05-11');
    const [warning, ...more] = outcomesOf(bundle);
    expect(more).toEqual([]);
    expect(warning?.issue[0]).toMatchObject({
      severity: 'warning', code: 'informational', expression: ['Patient.birthDate'],
      details: { coding: [{ code: 'DEMOGRAPHICS_DIFFER' }], text: 'The plans held for this NHS number disagree on: date of birth.' },
    });
    expect(JSON.stringify(warning)).not.toMatch(/2016-05|Example|Sam/);
    // The history and the Flag answer carry the same warning.
    expect(outcomesOf(await searchFor(service, dr, 'Flag', nhs))).toEqual([warning]);

    const [toA] = await a.mailbox();
    const [toB] = await b.mailbox();
    for (const n of [toA, toB]) expect(n?.subject).toEqual({ nhsNumber: nhs, familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-11' });
    expect(toA?.detailsDiffer).toEqual({ fields: ['birthDate'], otherLa: true });
    expect(toB?.detailsDiffer).toEqual({ fields: ['birthDate'], otherLa: true });
    // Each LA's notification still names only its own plans.
    expect(toA?.plans).toEqual([expect.objectContaining({ type: 'CPP' })]);
    expect(toB?.plans).toEqual([expect.objectContaining({ type: 'LAC' })]);
  });

  it('adds no warning and no difference when every plan agrees', async () => {
    const nhs = syntheticNhsNumber();
    const a = await la();
    const b = await la();
    await a.upload([sam(nhs)]);
    await b.upload([sam(nhs, lac)]);
    const bundle = await searchFor(service, await clinicianToken(service, { sub: 'agree-dr' }), 'CareTeam', nhs);
    expect(outcomesOf(bundle)).toEqual([]);
    expect((await a.mailbox())[0]?.detailsDiffer).toBeNull();
  });
});
