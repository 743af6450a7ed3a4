import { readFileSync } from 'node:fs';
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

/** Compiles a schema file from schemas/ with the given ajv. */
export function compileSchema<T>(ajv: Ajv, name: string): ValidateFunction<T> {
  return ajv.compile<T>(readSchema(name));
}

/** The JSON pointer of the field an ajv error is about, as a dotted FHIRPath-like expression. */
export function fieldOf(error: ErrorObject): string {
  const base = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const params = error.params as Record<string, unknown>;
  const child =
    (typeof params.missingProperty === 'string' && params.missingProperty) ||
    (typeof params.additionalProperty === 'string' && params.additionalProperty) ||
    '';
  if (child) return base ? `${base}.${child}` : child;
  return base || '(root)';
}

/** One OperationOutcome issue per failing field of an ajv validation, with an optional hint at the right shape. */
export function schemaIssues(errors: ErrorObject[] | null | undefined, hint = ''): { diagnostics: string; expression: string[] }[] {
  return (errors ?? [])
    .filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if')
    .map((e) => ({ diagnostics: `${fieldOf(e)} ${e.message ?? 'is invalid'}${hint ? ` (${hint})` : ''}`, expression: [fieldOf(e)] }));
}
