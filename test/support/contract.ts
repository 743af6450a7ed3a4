import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { asyncApiDocument } from '../../src/http/la/asyncapi.ts';
import { openApiDocument } from '../../src/http/la/openapi.ts';

// ajv-formats ships CommonJS; under ESM its callable sits on .default.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * Checks answers of the service against its OpenAPI document (src/http/la/openapi.ts, served at
 * /la/v1/openapi.json): the operation must list the status, the Content-Type must be one it lists
 * for that status, the body must be valid against the schema it gives (JSON Schema 2020-12, as
 * OpenAPI 3.1 says), and each header it marks required must be there with a valid value.
 *
 * A path or method the document does not describe may only be refused: with a status that the
 * routes behind a token give before they know the path (401, 403, 429), 404, or one that any
 * request may get (408, 414, 431, 500, 503), and always with an OperationOutcome.
 *
 * Messages name the route, status and rule; never a body, which may hold (synthetic) patient data.
 */

type Json = Record<string, unknown>;
type Schema = Json & { $ref?: string };
type Header = { required?: boolean; schema: Schema };
type Response = { description: string; headers?: Record<string, Header>; content?: Record<string, { schema: Schema }> };
type Operation = { responses: Record<string, Response | { $ref: string }> };

export type Answer = {
  method: string;
  /** Path and query, as requested. */
  pathAndQuery: string;
  status: number;
  headers: Headers;
  /** The body as text; undefined for a HEAD. */
  body: string | undefined;
};

/** Where the answer was found in the document: the path template and method, and the status as listed. */
export type Checked = { path: string | null; method: string; status: string };

const DOC_ID = 'https://cpis.example/la/v1/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const REFUSED_ANYWHERE = new Set([401, 403, 404, 408, 414, 429, 431, 500, 503]);

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

const mediaTypeOf = (contentType: string | null) => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** A checker for one document; compiled schemas are kept, so checking many answers stays cheap. */
export function createContractChecker(document: Json = openApiDocument({ name: 'cpis-open', version: 'test' })) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv, ['date', 'date-time', 'uri']);
  ajv.addSchema(document, DOC_ID);
  const compiled = new Map<string, ValidateFunction>();
  const validatorOf = (schema: Schema): ValidateFunction => {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (!validate) {
      // A schema that is only a $ref into the document is resolved there; any other is compiled with the document as its base.
      validate = schema.$ref?.startsWith('#/') && Object.keys(schema).length === 1
        ? (ajv.getSchema(`${DOC_ID}${schema.$ref}`) as ValidateFunction)
        : ajv.compile({ ...schema, $id: `${DOC_ID}/inline/${compiled.size}` });
      if (!validate) throw new ContractViolation(`the document's schema ${key} does not resolve`);
      compiled.set(key, validate);
    }
    return validate;
  };
  const deref = <T>(node: T | { $ref: string }): T => {
    const ref = (node as { $ref?: string }).$ref;
    if (!ref) return node as T;
    let at: unknown = document;
    for (const part of ref.replace(/^#\//, '').split('/')) at = (at as Json)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (at === undefined) throw new ContractViolation(`the document's ${ref} does not resolve`);
    return at as T;
  };
  const paths = Object.entries(document.paths as Record<string, Record<string, Operation>>).map(([template, item]) => ({
    template,
    literal: !template.includes('{'),
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    item,
  }));
  // Literal paths first: /la/v1/openapi.json before any /la/v1/{x} a later version might add.
  paths.sort((a, b) => Number(b.literal) - Number(a.literal));
  const outcome = (document.components as { schemas: Json }).schemas.OperationOutcome ? { $ref: '#/components/schemas/OperationOutcome' } : undefined;

  function checkBody(where: string, response: Response, answer: Answer): void {
    const type = mediaTypeOf(answer.headers.get('content-type'));
    const content = response.content ?? {};
    if (Object.keys(content).length === 0) {
      if (answer.body) throw new ContractViolation(`${where}: the document gives no body, the answer has one (${type || 'no Content-Type'})`);
      return;
    }
    const media = content[type];
    if (!media) throw new ContractViolation(`${where}: Content-Type ${type || '(none)'} is not one the document lists (${Object.keys(content).join(', ')})`);
    if (answer.body === undefined) return;
    let value: unknown = answer.body;
    if (/[/+]json$/.test(type)) {
      try {
        value = JSON.parse(answer.body);
      } catch {
        throw new ContractViolation(`${where}: the body is not JSON`);
      }
    }
    const validate = validatorOf(media.schema);
    if (!validate(value)) {
      const problems = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'} [${e.schemaPath}]`);
      throw new ContractViolation(`${where}: the body does not match the document's schema:\n  ${problems.join('\n  ')}`);
    }
  }

  function checkHeaders(where: string, response: Response, answer: Answer): void {
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = answer.headers.get(name);
      if (value === null) {
        if (header.required) throw new ContractViolation(`${where}: header ${name}, which the document requires, is missing`);
        continue;
      }
      const validate = validatorOf(header.schema);
      if (!validate(value)) throw new ContractViolation(`${where}: header ${name} does not match the document's schema`);
    }
  }

  /** Checks one answer; throws a ContractViolation saying what the document does not allow. */
  function check(answer: Answer): Checked {
    const url = new URL(answer.pathAndQuery, 'http://service.invalid');
    const asked = answer.method.toUpperCase();
    const method = (asked === 'HEAD' ? 'GET' : asked).toLowerCase();
    if (!METHODS.includes(method)) throw new ContractViolation(`${asked}: not an HTTP method the document can describe`);
    const path = paths.find((p) => p.pattern.test(url.pathname));
    const operation = path?.item[method];
    const where = `${asked} ${path?.template ?? url.pathname} answered ${answer.status}`;
    if (!path || !operation) {
      // Not a documented operation: only a refusal, as an OperationOutcome.
      if (!REFUSED_ANYWHERE.has(answer.status) || !outcome)
        throw new ContractViolation(`${where}: the document has no such operation, and this is not a refusal a request for one may get`);
      checkBody(where, { description: 'a refusal', content: { 'application/fhir+json': { schema: outcome } } }, answer);
      return { path: path?.template ?? null, method, status: String(answer.status) };
    }
    const listed = operation.responses[String(answer.status)];
    if (!listed) throw new ContractViolation(`${where}: the document does not list ${answer.status} for this operation (it lists ${Object.keys(operation.responses).join(', ')})`);
    const response = deref<Response>(listed);
    checkHeaders(where, response, answer);
    checkBody(where, response, answer);
    return { path: path.template, method, status: String(answer.status) };
  }

  /** Compiles every schema the document gives an answer, so that checking an answer takes no compiling (timing-sensitive tests). */
  function warm(): void {
    for (const { item } of paths)
      for (const operation of Object.values(item))
        for (const listed of Object.values(operation.responses)) {
          const response = deref<Response>(listed);
          for (const header of Object.values(response.headers ?? {})) validatorOf(header.schema);
          for (const media of Object.values(response.content ?? {})) validatorOf(media.schema);
        }
    if (outcome) validatorOf(outcome);
  }

  return { check, warm, document };
}

export type ContractChecker = ReturnType<typeof createContractChecker>;

let shared: ContractChecker | undefined;
/** One checker per test process, for the document the code builds, its schemas compiled. */
export const contractChecker = (): ContractChecker => {
  if (!shared) {
    shared = createContractChecker();
    shared.warm();
  }
  return shared;
};

/** Paths whose answers the OpenAPI document describes. */
export const isContractPath = (pathAndQuery: string) => /^\/(la\/v1|ops\/v1|health)(\/|\?|$)/.test(pathAndQuery);

/**
 * fetch, and check the answer against the OpenAPI document before the caller sees it (for paths the
 * document covers). A cut-off body is left to the caller, whose own read fails.
 */
export async function checkedFetch(baseUrl: string, pathAndQuery: string, init: RequestInit = {}): Promise<globalThis.Response> {
  const res = await fetch(`${baseUrl}${pathAndQuery}`, init);
  if (!isContractPath(pathAndQuery)) return res;
  const method = init.method ?? 'GET';
  let body: string | undefined;
  try {
    body = method.toUpperCase() === 'HEAD' ? undefined : await res.clone().text();
  } catch {
    return res;
  }
  const checked = contractChecker().check({ method, pathAndQuery, status: res.status, headers: res.headers, body });
  seen.add(`${checked.method.toUpperCase()} ${checked.path ?? '(undocumented)'} ${checked.status}`);
  return res;
}

const seen = new Set<string>();
/** `METHOD /path/{template} status` of every answer checkedFetch has checked in this test process (each test file runs in its own). */
export const answersSeen = (): ReadonlySet<string> => seen;

const ASYNC_DOC_ID = 'https://cpis.example/la/v1/asyncapi.json';

/**
 * Checks frames the stream sends against the AsyncAPI document (src/http/la/asyncapi.ts): a frame's
 * type names its message, whose payload schema (JSON Schema draft-07, AsyncAPI's own schema format)
 * it must match. A type the document has no message for is a violation.
 */
export function createFrameChecker(document: Json = asyncApiDocument({ name: 'cpis-open', version: 'test' }, 'http://127.0.0.1')) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv, ['date', 'date-time', 'uri']);
  ajv.addSchema(document, ASYNC_DOC_ID);
  const messages = (document.components as { messages: Record<string, { payload: { $ref: string } }> }).messages;
  const validators = new Map<string, ValidateFunction>();
  for (const [type, message] of Object.entries(messages)) validators.set(type, ajv.getSchema(`${ASYNC_DOC_ID}${message.payload.$ref}`) as ValidateFunction);
  return function check(frame: unknown): void {
    const type = frame !== null && typeof frame === 'object' ? (frame as { type?: unknown }).type : undefined;
    const message = typeof type === 'string' && type !== 'ack' ? messages[type] : undefined;
    if (!message) throw new ContractViolation(`a server frame of a type the AsyncAPI document has no message for`);
    const validate = validators.get(type as string) as ValidateFunction;
    if (!validate(frame)) {
      const problems = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'} [${e.schemaPath}]`);
      throw new ContractViolation(`a ${String(type)} frame does not match the AsyncAPI document's payload:\n  ${problems.join('\n  ')}`);
    }
  };
}

let sharedFrames: ReturnType<typeof createFrameChecker> | undefined;
/** One frame checker per test process. */
export const frameChecker = () => (sharedFrames ??= createFrameChecker());
