import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import asyncApiSpecs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPINE_CODES, CPIS_ERROR_CODES, CPIS_ERROR_SYSTEM } from '../../src/domain/app-error.ts';
import { SPINE_ERROR_SYSTEM } from '../../src/http/operation-outcome.ts';
import { compileSchema, createAjv, readSchema, schemaFileNames } from '../../src/schemas.ts';
import { badChecksumNhsNumber, childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { bareLaToken, laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { answersSeen, ContractViolation, contractChecker, createFrameChecker } from '../support/contract.ts';
import { openStream } from '../support/stream-client.ts';

// The contracts of the LA API (issue 14): the OpenAPI 3.1 document at /la/v1/openapi.json and the
// AsyncAPI 3.0 document at /la/v1/asyncapi.json, built from schemas/. Each is validated against its
// specification's own schema; every answer this file (and every other component test, through
// service.fetch) receives from /la/v1 or /health is checked against the OpenAPI document, every
// stream frame against the AsyncAPI document; and every status the OpenAPI document lists is
// provoked here, save those that need a fault, an outage or a raw socket (EXEMPT).

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
type Json = Record<string, unknown>;

const LISTED = 'https://la-portal.example';
/** Statuses this file does not provoke, and which tests do. */
const EXEMPT: Record<string, string> = {
  408: 'a client too slow to send its request: limits.test.ts, over a raw socket',
  431: 'headers over MAX_HEADER_BYTES: limits.test.ts, over a raw socket',
  429: 'the rate limit and a second upload of an LA: rate-limit.test.ts, no-store.test.ts, upload-isolation.test.ts',
  500: 'a fault of the service: no-store.test.ts',
  503: 'a database outage or a starting or draining instance: database-outage.test.ts, startup-wait.test.ts, organisation-and-errors.test.ts',
};

let service: TestService;
beforeAll(async () => {
  service = await startTestService({
    env: {
      RATE_LIMIT_PER_SECOND: '0', JSON_MAX_BYTES: '2048', UPLOAD_MAX_BYTES: '16384', UPLOAD_MAX_RECORD_BYTES: '4096',
      CORS_ORIGINS: LISTED, STREAM_HEARTBEAT_SECONDS: '1',
    },
  });
});
afterAll(async () => {
  await service?.stop();
});

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
});
const call = (pathAndQuery: string, token?: string, init: RequestInit = {}) => service.fetch(pathAndQuery, { ...init, token });
const statusOf = async (pathAndQuery: string, token?: string, init: RequestInit = {}) => {
  const res = await call(pathAndQuery, token, init);
  await res.arrayBuffer();
  return res.status;
};

/** Every `$ref` into the document resolves. */
function danglingRefs(document: Json): string[] {
  const dangling: string[] = [];
  const resolve = (ref: string) => ref.replace(/^#\//, '').split('/').reduce<unknown>((at, part) => (at as Json | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')], document);
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && (!value.startsWith('#/') || resolve(value) === undefined)) dangling.push(value);
      else walk(value);
    }
  };
  walk(document);
  return dangling;
}

/** A schema with every `$ref` written as `<file>#<pointer>`: a file of schemas/ and a component of a document compare alike. */
function normalised(node: unknown, file: string, fromComponent: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => normalised(n, file, fromComponent));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => fromComponent || !['$schema', '$id'].includes(key))
      .map(([key, value]) => {
        if (key !== '$ref' || typeof value !== 'string') return [key, normalised(value, file, fromComponent)];
        if (fromComponent) {
          const [, name = '', pointer = ''] = /^#\/components\/schemas\/([^/]+)(.*)$/.exec(value) ?? [];
          return [key, `${fileOf(name)}#${pointer}`];
        }
        const [target = '', pointer = ''] = value.split('#');
        return [key, `${target || file}#${pointer}`];
      }),
  );
}
const fileOf = (component: string) => `${component.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.schema.json`;

function expectComponentsAreTheSchemaFiles(document: Json): void {
  const components = (document.components as { schemas: Record<string, unknown> }).schemas;
  expect(Object.keys(components).length).toBeGreaterThan(0);
  for (const [name, schema] of Object.entries(components)) {
    const file = fileOf(name);
    expect(schemaFileNames(), name).toContain(file);
    expect(normalised(schema, file, true), file).toEqual(normalised(readSchema(file), file, false));
  }
}

describe('the schemas', () => {
  it('each compile with the service\'s own ajv, strict, with the schemas they refer to', () => {
    for (const name of schemaFileNames()) expect(() => compileSchema(createAjv(), name), name).not.toThrow();
  });

  it('give the OperationOutcome the code system and codes the service sends', () => {
    const coding = (readSchema('operation-outcome.schema.json') as { definitions: { issue: { properties: { details: { properties: { coding: { items: { properties: Record<string, { const?: string; enum?: string[] }> } } } } } } } })
      .definitions.issue.properties.details.properties.coding.items.properties;
    expect(coding.system?.enum).toEqual([SPINE_ERROR_SYSTEM, CPIS_ERROR_SYSTEM]);
    expect([...(coding.code?.enum ?? [])].sort()).toEqual([...Object.keys(SPINE_CODES), ...Object.keys(CPIS_ERROR_CODES)].sort());
  });
});

describe('the OpenAPI document, GET /la/v1/openapi.json', () => {
  it('is served without a token, and is the document the code builds', async () => {
    const res = await call('/la/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await res.json()) as Json;
    expect({ ...served, info: { ...(served.info as Json), version: 'test' } }).toEqual(contractChecker().document);
  });

  it('validates against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), which refuses a broken copy', async () => {
    const document = (await (await call('/la/v1/openapi.json')).json()) as Json;
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const broken = structuredClone(document) as { paths: Record<string, Record<string, { responses: Record<string, Json> }>> };
    delete broken.paths['/la/v1/plans']?.get?.responses['200']?.description;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('has its components exactly the files of schemas/, every $ref resolving', () => {
    const { document } = contractChecker();
    expectComponentsAreTheSchemaFiles(document);
    expect(danglingRefs(document)).toEqual([]);
  });

  it('gives every operation its security, a unique operationId, and every answer a schema; every 4xx and 5xx an OperationOutcome', () => {
    const { document } = contractChecker();
    const responses = (document.components as { responses: Record<string, Json> }).responses;
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(Array.isArray(operation.security), where).toBe(true);
        expect(ids.has(operation.operationId as string), where).toBe(false);
        ids.add(operation.operationId as string);
        for (const [status, listed] of Object.entries(operation.responses as Record<string, Json>)) {
          const ref = listed.$ref as string | undefined;
          const response = (ref ? responses[ref.split('/').at(-1) as string] : listed) as { content?: Record<string, { schema?: unknown }> };
          if (status === '204') {
            expect(response.content, `${where} ${status}`).toBeUndefined();
            continue;
          }
          const media = Object.entries(response.content ?? {});
          expect(media.length, `${where} ${status}`).toBeGreaterThan(0);
          for (const [, m] of media) expect(m.schema, `${where} ${status}`).toBeDefined();
          if (Number(status) >= 400 && !(path === '/health/ready' && status === '503'))
            expect(response.content, `${where} ${status}`).toEqual({ 'application/fhir+json': { schema: { $ref: '#/components/schemas/OperationOutcome' } } });
        }
      }
    }
  });
});

describe('the AsyncAPI document, GET /la/v1/asyncapi.json', () => {
  const specSchema = asyncApiSpecs.schemas['3.0.0'];
  // The bundled schema carries its own copy of the draft-07 meta-schema: ajv must not add its own.
  const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
  addFormats(ajv);
  const validate = ajv.compile(specSchema);

  it('is served without a token and validates against the AsyncAPI 3.0.0 schema (@asyncapi/specs), which refuses a broken copy', async () => {
    const res = await call('/la/v1/asyncapi.json');
    expect(res.status).toBe(200);
    const document = (await res.json()) as Json & { servers: { cpis: { host: string; protocol: string } }; operations: Record<string, Json> };
    expect(validate(document), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(document.asyncapi).toBe('3.0.0');
    expect(document.servers.cpis).toMatchObject({ host: new URL(service.url).host, protocol: 'ws' });
    expect(danglingRefs(document)).toEqual([]);
    expectComponentsAreTheSchemaFiles(document);
    const broken = structuredClone(document);
    (broken.operations.sendNotification as Json).action = 'publish';
    expect(validate(broken)).toBe(false);
  });
});

describe('the contract checker (test/support/contract.ts)', () => {
  const { check } = contractChecker();
  const headers = (extra: Record<string, string> = {}) => new Headers({ 'x-request-id': randomUUID(), 'cache-control': 'no-store', ...extra });
  const plansPage = JSON.stringify({ plans: [], next: null });

  it('passes a documented answer and refuses what the document does not say', () => {
    expect(check({ method: 'GET', pathAndQuery: '/la/v1/plans', status: 200, headers: headers({ 'content-type': 'application/json' }), body: plansPage }))
      .toEqual({ path: '/la/v1/plans', method: 'get', status: '200' });
    const refused = (answer: Partial<Parameters<typeof check>[0]>, message: RegExp) =>
      expect(() => check({ method: 'GET', pathAndQuery: '/la/v1/plans', status: 200, headers: headers({ 'content-type': 'application/json' }), body: plansPage, ...answer }))
        .toThrow(expect.objectContaining({ name: ContractViolation.name, message: expect.stringMatching(message) }));
    refused({ status: 418 }, /does not list 418/);
    refused({ body: JSON.stringify({ plans: [] }) }, /does not match.*\n.*next/);
    refused({ headers: headers({ 'content-type': 'text/html' }) }, /Content-Type text\/html/);
    refused({ headers: new Headers({ 'content-type': 'application/json', 'x-request-id': 'r1' }) }, /Cache-Control/);
    refused({ pathAndQuery: '/la/v1/no-such-thing' }, /no such operation/);
    refused({ method: 'DELETE' }, /no such operation/);
    refused({ status: 401, headers: headers({ 'content-type': 'application/fhir+json' }), body: '{"resourceType":"OperationOutcome"}' }, /WWW-Authenticate/);
  });

  it('takes a refusal of an undocumented path only as an OperationOutcome', () => {
    const outcome = JSON.stringify({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', details: { coding: [{ system: SPINE_ERROR_SYSTEM, version: '1', code: 'RESOURCE_NOT_FOUND', display: SPINE_CODES.RESOURCE_NOT_FOUND }] }, diagnostics: 'no route' }],
    });
    expect(check({ method: 'GET', pathAndQuery: '/la/v1/no-such-thing', status: 404, headers: headers({ 'content-type': 'application/fhir+json' }), body: outcome }).path).toBeNull();
    expect(() => check({ method: 'GET', pathAndQuery: '/la/v1/no-such-thing', status: 404, headers: headers({ 'content-type': 'application/fhir+json' }), body: '{}' })).toThrow(ContractViolation);
  });

  it('checks stream frames against the AsyncAPI document\'s messages', () => {
    const frames = createFrameChecker();
    expect(() => frames({ type: 'heartbeat', lastEventNumber: 3 })).not.toThrow();
    expect(() => frames({ type: 'heartbeat', lastEventNumber: -1 })).toThrow(ContractViolation);
    expect(() => frames({ type: 'notification', notification: { eventNumber: 1 } })).toThrow(ContractViolation);
    expect(() => frames({ type: 'ack', eventNumber: 1 })).toThrow(ContractViolation);
    expect(() => frames({ type: 'gossip' })).toThrow(ContractViolation);
  });
});

describe('every /la/v1 route, and each status it lists, answered as the OpenAPI document says', () => {
  it('organisation: read, set, refused', async () => {
    const org = syntheticLaCode();
    const system = await bareLaToken(service, org);
    const worker = await bareLaToken(service, org, 'social-worker');
    const clinician = await clinicianToken(service);
    expect(await statusOf('/la/v1/organisation', system)).toBe(200);
    expect(await statusOf('/la/v1/organisation', worker)).toBe(200);
    expect(await statusOf('/la/v1/organisation')).toBe(401);
    expect(await statusOf('/la/v1/organisation', clinician)).toBe(403);
    const body = { name: `${org} Council`, officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999', officeHours: { timeZone: 'Europe/London', staffed: '24/7' } };
    expect(await statusOf('/la/v1/organisation', system, json('PUT', body))).toBe(200);
    expect(await statusOf('/la/v1/organisation', system, json('PUT', { ...body, officeHours: undefined, edtPhone: '+1 202 555 0100' }))).toBe(400);
    expect(await statusOf('/la/v1/organisation', system, json('PUT', '{"name":'))).toBe(400);
    expect(await statusOf('/la/v1/organisation', system, json('PUT', { ...body, notes: 'x'.repeat(3000) }))).toBe(413);
    expect(await statusOf('/la/v1/organisation', system, json('PUT', body, { 'content-encoding': 'x-unknown' }))).toBe(415);
    expect(await statusOf('/la/v1/organisation', system, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })).toBe(415);
    expect(await statusOf('/la/v1/organisation', worker, json('PUT', body))).toBe(403);
    expect(await statusOf('/la/v1/organisation', undefined, json('PUT', body))).toBe(401);
    // An LA read back with hours per day, every day named.
    expect(await statusOf('/la/v1/organisation', system, json('PUT', { ...body, officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '09:00', closes: '17:00' } } } }))).toBe(200);
    expect(await statusOf('/la/v1/organisation', system)).toBe(200);
  });

  it('duty teams: read, set, cleared, refused', async () => {
    const org = syntheticLaCode();
    const system = await laToken(service, org);
    const worker = await bareLaToken(service, org, 'social-worker');
    const clinician = await clinicianToken(service);
    const bare = await bareLaToken(service, syntheticLaCode());
    const body = { teams: [{ code: 'DAY', name: 'Day team', phone: '0113 496 0100' }, { code: 'EDT', name: 'EDT', phone: '0113 496 0199', escalateTo: 'DAY' }], routing: { inHours: 'DAY', outOfHours: 'EDT' } };
    expect(await statusOf('/la/v1/duty-teams', system)).toBe(200);
    expect(await statusOf('/la/v1/duty-teams', system, json('PUT', body))).toBe(200);
    expect(await statusOf('/la/v1/duty-teams', worker)).toBe(200);
    expect(await statusOf('/la/v1/duty-teams')).toBe(401);
    expect(await statusOf('/la/v1/duty-teams', clinician)).toBe(403);
    expect(await statusOf('/la/v1/duty-teams', system, json('PUT', { ...body, routing: { inHours: 'DAY', outOfHours: 'NONE' } }))).toBe(400);
    expect(await statusOf('/la/v1/duty-teams', bare, json('PUT', body))).toBe(409);
    expect(await statusOf('/la/v1/duty-teams', system, json('PUT', { ...body, notes: 'x'.repeat(3000) }))).toBe(413);
    expect(await statusOf('/la/v1/duty-teams', system, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })).toBe(415);
    expect(await statusOf('/la/v1/duty-teams', worker, json('PUT', body))).toBe(403);
    expect(await statusOf('/la/v1/duty-teams', undefined, json('PUT', body))).toBe(401);
    expect(await statusOf('/la/v1/duty-teams', system, { method: 'DELETE' })).toBe(200);
    expect(await statusOf('/la/v1/duty-teams', bare, { method: 'DELETE' })).toBe(409);
    expect(await statusOf('/la/v1/duty-teams', worker, { method: 'DELETE' })).toBe(403);
    expect(await statusOf('/la/v1/duty-teams', undefined, { method: 'DELETE' })).toBe(401);
  });

  it('uploads in each form, replays, refusals and the refused records\' pages', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const clinician = await clinicianToken(service);
    const first = await uploadJson(service, token, 1, [childRecord(), { ...childRecord(), favouriteColour: 'blue' }, childRecord({ nhsNumber: badChecksumNhsNumber() })]);
    expect(first.status).toBe(201);
    const ack = await first.json();
    expect(ack).toMatchObject({ result: 'CPF03', rejected: 2 });
    const replay = await uploadJson(service, token, 1, [childRecord()]);
    expect([replay.status, replay.headers.get('x-replayed')]).toEqual([200, 'true']);
    const ndjson = `${JSON.stringify(childRecord())}\n${JSON.stringify(childRecord({ planType: 'LAC', lacLegalStatus: 'S20' }))}\n`;
    expect(await statusOf('/la/v1/uploads', token, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': '2' }, body: ndjson })).toBe(201);
    const { nhsNumber, familyName, givenNames, birthDate, startDate } = childRecord();
    const csv = `nhsNumber,familyName,givenNames,birthDate,planType,startDate\r\n${nhsNumber},${familyName},${givenNames},${birthDate},CPP,${startDate}\r\n`;
    expect(await statusOf('/la/v1/uploads', token, { method: 'POST', headers: { 'content-type': 'text/csv', 'x-sequence-number': '3' }, body: csv })).toBe(201);
    expect(await statusOf('/la/v1/uploads', token, json('POST', `{"sequenceNumber":4,"records":[{`))).toBe(400);
    expect(await statusOf('/la/v1/uploads', token, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'x-sequence-number': 'four' }, body: ndjson })).toBe(400);
    expect((await uploadJson(service, token, 2, [childRecord()])).status).toBe(409);
    expect((await uploadJson(service, await bareLaToken(service, syntheticLaCode()), 1, [childRecord()])).status).toBe(409);
    expect((await uploadJson(service, token, 5, Array.from({ length: 100 }, () => childRecord()))).status).toBe(413);
    expect(await statusOf('/la/v1/uploads', token, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<batch/>' })).toBe(415);
    expect((await uploadJson(service, clinician, 5, [])).status).toBe(403);
    expect(await statusOf('/la/v1/uploads', undefined, json('POST', { sequenceNumber: 5, records: [] }))).toBe(401);

    const refusals = `/la/v1/uploads/${ack.uploadId}/refusals`;
    const page = await call(`${refusals}?limit=1`, token);
    expect(page.status).toBe(200);
    expect((await page.json()).next).toBe(`${refusals}?after=1`);
    expect(await statusOf(`${refusals}?after=1`, token)).toBe(200);
    expect(await statusOf(`${refusals}?limit=0`, token)).toBe(400);
    expect(await statusOf(`/la/v1/uploads/${randomUUID()}/refusals`, token)).toBe(404);
    expect(await statusOf('/la/v1/uploads/not-an-id/refusals', token)).toBe(404);
    expect(await statusOf(refusals)).toBe(401);
    expect(await statusOf(refusals, clinician)).toBe(403);
  });

  it('plans, the mailbox, acknowledgements and stream tickets', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const worker = await bareLaToken(service, org, 'social-worker');
    const clinician = await clinicianToken(service, { sub: `contracts-${randomUUID()}` });
    const records = [childRecord(), childRecord({ planType: 'LAC', lacLegalStatus: 'S31', localId: 'CASE-1', postcode: 'ls1 4ap', addressLines: ['1 Long Row', 'Leeds'] })];
    expect((await uploadJson(service, token, 1, records)).status).toBe(201);
    for (const r of records) await searchFor(service, clinician, 'CareTeam', r.nhsNumber as string);
    const plans = await call('/la/v1/plans?limit=1', token);
    expect(plans.status).toBe(200);
    expect(await statusOf(`/la/v1/plans?after=${(await plans.json()).next}`, token)).toBe(200);
    expect(await statusOf('/la/v1/plans?limit=1001', token)).toBe(400);
    expect(await statusOf('/la/v1/plans')).toBe(401);
    expect(await statusOf('/la/v1/plans', worker)).toBe(403);

    const mailbox = await call('/la/v1/notifications?after=0', worker);
    expect(mailbox.status).toBe(200);
    expect((await mailbox.json()).notifications.map((n: { type: string }) => n.type)).toEqual(['access', 'access']);
    expect(await statusOf('/la/v1/notifications?after=minus-one', token)).toBe(400);
    expect(await statusOf('/la/v1/notifications')).toBe(401);
    expect(await statusOf('/la/v1/notifications', clinician)).toBe(403);

    expect(await statusOf('/la/v1/notifications/ack', worker, json('POST', { eventNumbers: [1] }))).toBe(200);
    expect(await statusOf('/la/v1/notifications/ack', token, json('POST', { upTo: 2 }))).toBe(200);
    expect(await statusOf('/la/v1/notifications', token)).toBe(200);
    expect(await statusOf('/la/v1/notifications/ack', token, json('POST', { upTo: 0 }))).toBe(400);
    expect(await statusOf('/la/v1/notifications/ack', token, json('POST', { eventNumbers: Array.from({ length: 900 }, (_, i) => i + 1) }))).toBe(413);
    expect(await statusOf('/la/v1/notifications/ack', token, json('POST', { upTo: 1 }, { 'content-type': 'application/json; charset=latin1' }))).toBe(415);
    expect(await statusOf('/la/v1/notifications/ack', undefined, json('POST', { upTo: 1 }))).toBe(401);
    expect(await statusOf('/la/v1/notifications/ack', clinician, json('POST', { upTo: 1 }))).toBe(403);

    expect(await statusOf('/la/v1/notifications?before=3&team=DAY', worker)).toBe(200);
    expect(await statusOf(`/la/v1/notifications?nhsNumber=${records[0]?.nhsNumber as string}&name=test`, worker)).toBe(200);
    expect(await statusOf('/la/v1/notifications/acknowledgements', worker)).toBe(200);
    expect(await statusOf('/la/v1/notifications/acknowledgements?after=1', token)).toBe(200);
    expect(await statusOf('/la/v1/notifications/acknowledgements?after=x', token)).toBe(400);
    expect(await statusOf('/la/v1/notifications/acknowledgements')).toBe(401);
    expect(await statusOf('/la/v1/notifications/acknowledgements', clinician)).toBe(403);

    expect(await statusOf('/la/v1/notifications/stream-tickets', worker, { method: 'POST' })).toBe(201);
    expect(await statusOf('/la/v1/notifications/stream-tickets', undefined, { method: 'POST' })).toBe(401);
    expect(await statusOf('/la/v1/notifications/stream-tickets', clinician, { method: 'POST' })).toBe(403);
  });

  it('dry runs, the refusals worklist and the usage report', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const worker = await bareLaToken(service, org, 'social-worker');
    const clinician = await clinicianToken(service);
    const refused = childRecord({ planType: 'LAC' });
    const dry = await call('/la/v1/uploads?dryRun=true', token, json('POST', { sequenceNumber: 1, records: [childRecord(), refused] }));
    expect([dry.status, (await dry.json()).dryRun]).toEqual([200, true]);
    expect(await statusOf('/la/v1/uploads?dryRun=maybe', token, json('POST', { sequenceNumber: 1, records: [] }))).toBe(400);
    expect((await uploadJson(service, token, 1, [childRecord(), refused])).status).toBe(201);
    const replayed = await call('/la/v1/uploads?dryRun=true', token, json('POST', { sequenceNumber: 1, records: [] }));
    expect([replayed.status, replayed.headers.get('x-replayed')]).toEqual([200, 'true']);

    const worklist = await call('/la/v1/refusals?limit=1', token);
    expect([worklist.status, (await worklist.json()).refusals.length]).toEqual([200, 1]);
    expect(await statusOf(`/la/v1/refusals?after=${refused.nhsNumber as string}`, token)).toBe(200);
    expect(await statusOf('/la/v1/refusals?after=not-a-number', token)).toBe(400);
    expect(await statusOf('/la/v1/refusals')).toBe(401);
    expect(await statusOf('/la/v1/refusals', worker)).toBe(403);

    const month = new Date().toISOString().slice(0, 7);
    expect(await statusOf(`/la/v1/reports/usage?month=${month}`, token)).toBe(200);
    const csv = await call(`/la/v1/reports/usage?month=${month}&format=csv`, worker);
    expect([csv.status, csv.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
    expect(await statusOf(`/la/v1/reports/usage?month=${month}`, worker, { headers: { accept: 'text/csv' } })).toBe(200);
    expect(await statusOf('/la/v1/reports/usage?month=2026-13', token)).toBe(400);
    expect(await statusOf(`/la/v1/reports/usage?month=${month}&format=xml`, token)).toBe(400);
    expect(await statusOf(`/la/v1/reports/usage?month=${month}`)).toBe(401);
    expect(await statusOf(`/la/v1/reports/usage?month=${month}`, clinician)).toBe(403);
    const ops = await service.token({ role: 'ops', org: 'OPS01' });
    expect(await statusOf(`/ops/v1/reports/usage?month=${month}`, ops)).toBe(200);
    expect(await statusOf('/ops/v1/reports/usage?month=2026-13', ops)).toBe(400);
    expect(await statusOf(`/ops/v1/reports/usage?month=${month}`)).toBe(401);
    expect(await statusOf(`/ops/v1/reports/usage?month=${month}`, token)).toBe(403);
  });

  it('ops: the LA registry listed, an LA registered, read, suspended and reinstated, and refused', async () => {
    const ops = await service.token({ role: 'ops', org: 'OPS01' });
    const clinician = await clinicianToken(service);
    const code = syntheticLaCode();
    const body = {
      code, name: `${code} Council`, officeHoursPhone: '0113 496 0100', edtPhone: '0113 496 0199',
      officeHours: { timeZone: 'Europe/London', days: { mon: { opens: '09:00', closes: '17:00' } } },
    };
    expect(await statusOf('/ops/v1/las', ops, json('POST', body))).toBe(201);
    expect(await statusOf('/ops/v1/las', ops, json('POST', body))).toBe(409);
    expect(await statusOf('/ops/v1/las', ops, json('POST', { ...body, officeHours: undefined }))).toBe(400);
    expect(await statusOf('/ops/v1/las', ops, json('POST', { ...body, name: 'x'.repeat(3000) }))).toBe(413);
    expect(await statusOf('/ops/v1/las', ops, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) })).toBe(415);
    expect(await statusOf('/ops/v1/las', undefined, json('POST', body))).toBe(401);
    expect(await statusOf('/ops/v1/las', clinician, json('POST', body))).toBe(403);
    // An LA with a batch, so that the list's feed health has a last upload to describe.
    expect((await uploadJson(service, await bareLaToken(service, code), 1, [childRecord(), childRecord({ nhsNumber: badChecksumNhsNumber() })])).status).toBe(201);
    expect(await statusOf('/ops/v1/las', ops)).toBe(200);
    expect(await statusOf('/ops/v1/las')).toBe(401);
    expect(await statusOf('/ops/v1/las', clinician)).toBe(403);
    expect(await statusOf(`/ops/v1/las/${code}`, ops)).toBe(200);
    expect(await statusOf(`/ops/v1/las/${syntheticLaCode()}`, ops)).toBe(404);
    expect(await statusOf(`/ops/v1/las/${code}`)).toBe(401);
    expect(await statusOf(`/ops/v1/las/${code}`, await bareLaToken(service, code))).toBe(403);
    for (const [move, first, second] of [['suspend', 200, 409], ['reinstate', 200, 409]] as const) {
      const path = `/ops/v1/las/${code}/${move}`;
      expect(await statusOf(path, ops, json('POST', { reason: 'INC-1' }))).toBe(first);
      expect(await statusOf(path, ops, json('POST', { reason: 'INC-1' }))).toBe(second);
      expect(await statusOf(path, ops, json('POST', {}))).toBe(400);
      expect(await statusOf(`/ops/v1/las/${syntheticLaCode()}/${move}`, ops, json('POST', { reason: 'INC-1' }))).toBe(404);
      expect(await statusOf(path, ops, json('POST', { reason: 'x'.repeat(3000) }))).toBe(413);
      expect(await statusOf(path, ops, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"reason":"x"}' })).toBe(415);
      expect(await statusOf(path, undefined, json('POST', { reason: 'INC-1' }))).toBe(401);
      expect(await statusOf(path, clinician, json('POST', { reason: 'INC-1' }))).toBe(403);
    }
  });

  it('health, and the contracts themselves', async () => {
    expect(await statusOf('/health/live')).toBe(200);
    expect(await statusOf('/health/ready')).toBe(200);
    expect(await statusOf('/la/v1/asyncapi.json')).toBe(200);
  });

  it('OPTIONS on every path: a preflight from a listed origin, from another, and a plain OPTIONS', async () => {
    const preflight = (origin: string) => ({ method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    const system = await laToken(service, syntheticLaCode());
    for (const path of Object.keys(contractChecker().document.paths as Json)) {
      const concrete = path.replace('{uploadId}', randomUUID()).replace('{code}', syntheticLaCode());
      if (path.startsWith('/la/v1/')) {
        expect(await statusOf(concrete, undefined, preflight(LISTED)), path).toBe(204);
        expect(await statusOf(concrete, undefined, preflight('https://elsewhere.example')), path).toBe(403);
      }
      expect([200, 401], path).toContain(await statusOf(concrete, undefined, { method: 'OPTIONS' }));
      expect(await statusOf(concrete, system, { method: 'OPTIONS' }), path).toBe(200);
    }
  });

  it('a URL over MAX_URL_LENGTH, on every operation', async () => {
    const long = `?q=${'a'.repeat(5000)}`;
    for (const [path, item] of Object.entries(contractChecker().document.paths as Record<string, Json>)) {
      for (const method of Object.keys(item)) {
        expect(await statusOf(`${path.replace('{uploadId}', randomUUID()).replace('{code}', syntheticLaCode())}${long}`, undefined, { method: method.toUpperCase() }), `${method} ${path}`).toBe(414);
      }
    }
  });

  it('stream frames of every kind, each checked against the AsyncAPI document', async () => {
    const org = syntheticLaCode();
    const token = await laToken(service, org);
    const record = childRecord();
    expect((await uploadJson(service, token, 1, [record])).status).toBe(201);
    await searchFor(service, await clinicianToken(service, { sub: `stream-${randomUUID()}` }), 'CareTeam', record.nhsNumber as string);
    const ticket = (await (await call('/la/v1/notifications/stream-tickets', token, { method: 'POST' })).json()).ticket as string;
    const client = await openStream(service, { ticket, after: 0 });
    await client.waitFor((f) => f.some((x) => x.type === 'notification') && f.some((x) => x.type === 'heartbeat'));
    client.ws.send(JSON.stringify({ type: 'ack', eventNumber: 1 }));
    client.ws.send('{"type":"ack"');
    await client.waitFor((f) => ['acknowledged', 'acknowledgement', 'error'].every((type) => f.some((x) => x.type === type)));
    client.ws.close();
    expect(new Set(client.frames.map((f) => f.type))).toEqual(new Set(['notification', 'heartbeat', 'acknowledged', 'acknowledgement', 'error']));
    expect(client.violations).toEqual([]);
  });

  // Last: what the tests above were answered, against what the document lists.
  it('has provoked every status the document lists, but those that need a fault, an outage or a raw socket', () => {
    const listed = Object.entries(contractChecker().document.paths as Record<string, Record<string, { responses: Json }>>).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        Object.keys(operation.responses).filter((status) => !EXEMPT[status]).map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    const seen = answersSeen();
    expect(listed.filter((answer) => !seen.has(answer))).toEqual([]);
    expect([...seen].filter((answer) => answer.includes('(undocumented)'))).toEqual([]);
  });
});
