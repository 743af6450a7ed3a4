import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

const schemaDir = new URL('../schemas/', import.meta.url);
// ajv-formats ships CommonJS; under ESM its callable sits on .default.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Reads one JSON Schema from schemas/ (once, at boot). */
export function readSchema(name: string): object {
  return JSON.parse(readFileSync(new URL(name, schemaDir), 'utf8')) as object;
}

/** Builds an ajv instance with formats; every schema is compiled at boot, never per request. */
export function createAjv(options: { coerceTypes?: boolean; useDefaults?: boolean } = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, ...options });
  addFormats(ajv, ['date', 'date-time', 'uri']);
  return ajv;
}

/** Every schema file in schemas/, by file name. */
export function schemaFileNames(): string[] {
  return readdirSync(schemaDir).filter((name) => name.endsWith('.schema.json')).sort();
}

const withEverySchema = new WeakSet<Ajv>();

/**
 * Adds every schema of schemas/ to an ajv, once, so that one may `$ref` another by file name
 * (`notification.schema.json`, resolved against its `$id`). Nothing is compiled until it is used.
 */
function addEverySchema(ajv: Ajv): void {
  if (withEverySchema.has(ajv)) return;
  for (const name of schemaFileNames()) ajv.addSchema(readSchema(name));
  withEverySchema.add(ajv);
}

/** Compiles a schema file from schemas/ with the given ajv, with the schemas it refers to. */
export function compileSchema<T>(ajv: Ajv, name: string): ValidateFunction<T> {
  addEverySchema(ajv);
  const id = (readSchema(name) as { $id?: unknown }).$id;
  const validate = typeof id === 'string' ? ajv.getSchema<T>(id) : undefined;
  if (!validate) throw new Error(`schemas/${name} has no $id under which it could be compiled`);
  return validate;
}

/** The object an ajv error's instancePath points at within `data`, if it is one. */
function objectAt(data: unknown, instancePath: string): Record<string, unknown> | undefined {
  let at = data;
  for (const part of instancePath.split('/').slice(1)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>) : undefined;
}

/**
 * An unknown member, by position ("key 2"): never by its name, which is the caller's text and may be
 * anything. `keys` are the top-level member names in the order sent, where the reader kept them;
 * otherwise positions count members as JSON.parse keeps them, which puts names that look like array
 * indexes first, and among such names no position is given rather than a wrong one.
 */
function unknownKeyLabel(data: unknown, instancePath: string, name: string, keys?: readonly string[]): string {
  if (keys && instancePath === '') {
    const at = keys.indexOf(name);
    return at < 0 ? 'an unknown key' : `key ${at + 1}`;
  }
  const parsed = Object.keys(objectAt(data, instancePath) ?? {});
  const at = parsed.indexOf(name);
  return at < 0 || parsed.some((k) => /^(0|[1-9]\d*)$/.test(k)) ? 'an unknown key' : `key ${at + 1}`;
}

/**
 * The JSON pointer of the field an ajv error is about, as a dotted FHIRPath-like expression. Only the
 * schema's own names appear in it: an unknown member is named by position (see unknownKeyLabel).
 */
export function fieldOf(error: ErrorObject, data?: unknown, keys?: readonly string[]): string {
  const base = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const params = error.params as Record<string, unknown>;
  const child =
    (typeof params.missingProperty === 'string' && params.missingProperty) ||
    (typeof params.additionalProperty === 'string' && unknownKeyLabel(data, error.instancePath, params.additionalProperty, keys)) ||
    '';
  if (child) return base ? `${base}.${child}` : child;
  return base || '(root)';
}

/** One OperationOutcome issue per failing field of an ajv validation, with an optional hint at the right shape. */
export function schemaIssues(errors: ErrorObject[] | null | undefined, data: unknown, hint = ''): { diagnostics: string; expression: string[] }[] {
  return (errors ?? [])
    .filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if')
    .map((e) => ({ diagnostics: `${fieldOf(e, data)} ${e.keyword === 'additionalProperties' ? 'is not a known field' : (e.message ?? 'is invalid')}${hint ? ` (${hint})` : ''}`, expression: [fieldOf(e, data)] }));
}
