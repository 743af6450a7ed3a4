import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticLaCode } from '../support/synthetic.ts';
import { bareLaToken, createTestDatabase, laToken, startTestService, type TestService } from '../support/service.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const organisation = {
  name: 'Exampleshire County Council',
  officeHoursPhone: '0113 496 0000',
  edtPhone: '0113 496 0999',
  officeHours: { timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], opens: '08:30', closes: '17:30' },
};

describe('GET|PUT /la/v1/organisation', () => {
  it('shows a new LA with its token name and default hours, then what was PUT', async () => {
    const org = syntheticLaCode();
    const token = await bareLaToken(service, org);
    const before = await (await service.fetch('/la/v1/organisation', { token })).json();
    expect(before).toMatchObject({
      code: org, name: `${org} Council`, officeHoursPhone: null, edtPhone: null, phones: { officeHours: null, edt: null },
      officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '09:00', closes: '17:00' }, sat: null } },
      now: { outOfHours: expect.any(Boolean), callFirst: expect.stringMatching(/^(office-hours|out-of-hours)$/) },
    });
    const put = await service.fetch('/la/v1/organisation', { method: 'PUT', token, body: JSON.stringify(organisation), headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    const { now: _now, ...held } = await put.json();
    const hours = { opens: '08:30', closes: '17:30' };
    expect(held).toEqual({
      code: org, name: organisation.name, officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999',
      phones: { officeHours: { national: '0113 496 0000', e164: '+441134960000' }, edt: { national: '0113 496 0999', e164: '+441134960999' } },
      officeHours: { timeZone: 'Europe/London', days: { mon: hours, tue: hours, wed: hours, thu: hours, fri: hours, sat: null, sun: null } },
    });
    expect(await (await service.fetch('/la/v1/organisation', { token })).json()).toMatchObject(held);
  });

  it('names every failing field, refuses unknown ones, and changes nothing', async () => {
    const token = await bareLaToken(service, syntheticLaCode());
    const res = await service.fetch('/la/v1/organisation', {
      method: 'PUT', token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', edtPhone: 'call us', website: 'x', officeHours: { ...organisation.officeHours, opens: '25:00' } }),
    });
    expect(res.status).toBe(400);
    const outcome = await res.json();
    const fields = outcome.issue.flatMap((i: { expression: string[] }) => i.expression);
    // The unknown member is named by its place (the third), never by its own text.
    expect(fields).toEqual(expect.arrayContaining(['name', 'edtPhone', 'key 3', 'officeHoursPhone', 'officeHours.opens']));
    expect(JSON.stringify(outcome)).not.toContain('website');
    for (const issue of outcome.issue) expect(issue.details.coding[0].code).toBe('VALIDATION_ERROR');
    expect((await (await service.fetch('/la/v1/organisation', { token })).json()).edtPhone).toBeNull();
  });

  it('refuses a body in another content type, or in none, with 415 and changes nothing', async () => {
    const token = await bareLaToken(service, syntheticLaCode());
    const body = JSON.stringify(organisation);
    // A well-formed organisation each time: only the Content-Type is wrong. No header at all is sent with bytes, not a string.
    const sends: [string, RequestInit][] = [
      ...['text/plain', 'application/fhir+json', 'application/x-www-form-urlencoded', 'text/csv', 'application/xml'].map(
        (type): [string, RequestInit] => [type, { body, headers: { 'content-type': type } }]),
      ['(none)', { body: Buffer.from(body) }],
    ];
    for (const [type, init] of sends) {
      const res = await service.fetch('/la/v1/organisation', { method: 'PUT', token, ...init });
      expect(res.status, type).toBe(415);
      expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      const outcome = await res.json();
      expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported', diagnostics: 'Content-Type must be application/json' }] });
      expect(outcome.issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    }
    expect((await (await service.fetch('/la/v1/organisation', { token })).json()).edtPhone).toBeNull();
    // fetch sends a PUT without a body as Content-Length: 0 and no type: a body, of no bytes, unlabelled.
    expect((await service.fetch('/la/v1/organisation', { method: 'PUT', token })).status).toBe(415);
    const empty = await service.fetch('/la/v1/organisation', { method: 'PUT', token, body: '', headers: { 'content-type': 'application/json' } });
    expect(empty.status).toBe(400);
    expect((await empty.json()).issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
    // The media type decides, not its spelling or parameters.
    const put = await service.fetch('/la/v1/organisation', { method: 'PUT', token, body, headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
    expect(put.status).toBe(200);
  });

  it('answers malformed JSON with 400 VALIDATION_ERROR', async () => {
    const token = await laToken(service, syntheticLaCode());
    const res = await service.fetch('/la/v1/organisation', { method: 'PUT', token, body: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await res.json()).issue[0].details.coding[0].code).toBe('VALIDATION_ERROR');
  });

  it('only ever shows the caller its own LA', async () => {
    const a = syntheticLaCode();
    const tokenA = await laToken(service, a);
    await service.fetch('/la/v1/organisation', { method: 'PUT', token: tokenA, body: JSON.stringify(organisation), headers: { 'content-type': 'application/json' } });
    const b = syntheticLaCode();
    const seenByB = await (await service.fetch('/la/v1/organisation', { token: await bareLaToken(service, b) })).json();
    expect(seenByB.code).toBe(b);
    expect(seenByB.edtPhone).toBeNull();
  });
});

describe('errors, request ids and health', () => {
  it('answers an unknown path with a 404 OperationOutcome and echoes the request ids', async () => {
    const res = await service.fetch('/nowhere', { headers: { 'x-request-id': 'req-123', 'x-correlation-id': 'corr-9' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/fhir\+json/);
    expect(res.headers.get('x-request-id')).toBe('req-123');
    expect(res.headers.get('x-correlation-id')).toBe('corr-9');
    const outcome = await res.json();
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    expect(outcome.issue[0].details.coding[0]).toMatchObject({ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', code: 'RESOURCE_NOT_FOUND', display: 'Resource not found' });
  });

  it('takes TraceID as the request id, and makes one when none is given', async () => {
    expect((await service.fetch('/health/live', { headers: { traceid: 'trace-1' } })).headers.get('x-request-id')).toBe('trace-1');
    const made = (await service.fetch('/health/live')).headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports live and ready with the checks that make it ready', async () => {
    expect(await (await service.fetch('/health/live')).json()).toEqual({ status: 'ok' });
    const ready = await service.fetch('/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, draining: { ok: true } } });
  });

  it('lets several instances start at once on one database (migrations under an advisory lock)', async () => {
    const databaseUrl = await createTestDatabase();
    // Shared DATA_DIR only for the dev signing key, so one token is good on every instance.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-multi-'));
    const instances = await Promise.all([1, 2, 3].map(() => startTestService({ databaseUrl, dataDir })));
    try {
      for (const instance of instances) expect((await instance.fetch('/health/ready')).status).toBe(200);
      // Data written through one instance is read through another.
      const token = await laToken(instances[0] as TestService, syntheticLaCode());
      await (instances[0] as TestService).fetch('/la/v1/organisation', {
        method: 'PUT', token, body: JSON.stringify(organisation), headers: { 'content-type': 'application/json' },
      });
      expect((await (await (instances[2] as TestService).fetch('/la/v1/organisation', { token })).json()).edtPhone).toBe(organisation.edtPhone);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
    }
  });

  it('reports not ready while draining', async () => {
    const instance = await startTestService();
    instance.composition.setDraining();
    const res = await instance.fetch('/health/ready');
    expect(res.status).toBe(503);
    expect((await res.json()).checks.draining.ok).toBe(false);
    await instance.stop();
  });
});

describe('security headers', () => {
  it('sends helmet headers and a strict CSP, and no CORS grant', async () => {
    const res = await service.fetch('/console/', { headers: { origin: 'https://elsewhere.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
