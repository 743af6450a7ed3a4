import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

// The official HL7 FHIR R4 4.0.1 JSON Schema, vendored (see test/fixtures/fhir/NOTICE.md).
const SCHEMA_FILE = new URL('../fixtures/fhir/fhir.schema.json', import.meta.url);

type Compiled = { ajv: Ajv; id: string; byType: Map<string, ValidateFunction> };
let compiled: Compiled | undefined;

// One ajv for the run; the file is read on first use only, so tests that never validate pay nothing.
function schemaSet(): Compiled {
  if (compiled) return compiled;
  const { id, ...rest } = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { id: string } & Record<string, unknown>;
  // The file is draft-06 and names itself with `id`; ajv 8 wants `$id` and the draft-06 meta-schema.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  ajv.addSchema({ $id: id, ...rest });
  compiled = { ajv, id, byType: new Map() };
  return compiled;
}

// One validator per resource type: far faster than the top-level oneOf, and its errors are readable.
function validatorFor(resourceType: string): ValidateFunction | undefined {
  const set = schemaSet();
  let validate = set.byType.get(resourceType);
  if (!validate) {
    validate = set.ajv.getSchema(`${set.id}#/definitions/${resourceType}`);
    if (validate) set.byType.set(resourceType, validate);
  }
  return validate;
}

/**
 * Checks a resource against the FHIR R4 JSON Schema and the JSON rules the schema cannot express
 * (no empty or null values). A Bundle's entries, and any resource's contained resources, are also
 * checked each by its own type. Returns readable problems; an empty array means valid.
 */
export function validateFhir(resource: unknown): string[] {
  return [...new Set(problemsOf(resource, ''))];
}

function problemsOf(resource: unknown, at: string): string[] {
  const resourceType = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof resourceType !== 'string') return [`${at || '(root)'}: not a resource (no resourceType)`];
  const validate = validatorFor(resourceType);
  if (!validate) return [`${at || '(root)'}: unknown resourceType ${resourceType}`];
  const schemaErrors = validate(resource) ? [] : (validate.errors ?? []);
  return [
    ...schemaErrors.filter((e) => !isInsideEntryResource(resourceType, e) && !isInsideContained(e)).map((e) => describe(e, at)),
    ...emptyValues(resource, at),
    ...(resourceType === 'Bundle' ? entryProblems(resource, at) : []),
    ...containedProblems(resource, at),
  ];
}

// The Bundle schema checks entry.resource through a oneOf of every resource type; its errors are
// noise, so entries are validated again by their own type instead.
function isInsideEntryResource(resourceType: string, error: ErrorObject): boolean {
  return resourceType === 'Bundle' && /^\/entry\/\d+\/resource(\/|$)/.test(error.instancePath);
}

// The same for contained resources (a ResourceList, another oneOf of every type).
function isInsideContained(error: ErrorObject): boolean {
  return /^\/contained\/\d+(\/|$)/.test(error.instancePath);
}

function containedProblems(resource: unknown, at: string): string[] {
  const contained = (resource as { contained?: unknown }).contained;
  if (!Array.isArray(contained)) return [];
  return contained.flatMap((inner: unknown, i) => (inner === undefined ? [] : problemsOf(inner, `${at}/contained/${i}`)));
}

function entryProblems(bundle: unknown, at: string): string[] {
  const entries = (bundle as { entry?: unknown }).entry;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: { resource?: unknown }, i) =>
    entry?.resource === undefined ? [] : problemsOf(entry.resource, `${at}/entry/${i}/resource`),
  );
}

function describe(error: ErrorObject, at: string): string {
  const params = error.params as Record<string, unknown>;
  const detail =
    params.additionalProperty !== undefined ? ` (${String(params.additionalProperty)})`
    : params.allowedValues !== undefined ? ` (${JSON.stringify(params.allowedValues)})`
    : '';
  return `${at}${error.instancePath || (at ? '' : '(root)')} ${error.message ?? error.keyword}${detail}`;
}

// https://hl7.org/fhir/R4/json.html: objects, arrays and strings are never empty, and null is not a value.
function emptyValues(value: unknown, path: string): string[] {
  const here = path || '(root)';
  if (value === null || value === undefined) return [`${here} must not be ${String(value)}`];
  if (value === '') return [`${here} must not be an empty string`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${here} must not be an empty array`];
    return value.flatMap((item, i) => emptyValues(item, `${path}/${i}`));
  }
  if (typeof value !== 'object') return [];
  const entries = Object.entries(value);
  if (entries.length === 0) return [`${here} must not be an empty object`];
  // A Bundle's resources and contained resources are walked again when each is validated.
  return entries.flatMap(([key, child]) =>
    (key === 'resource' && /\/entry\/\d+$/.test(path)) || (key === 'contained' && Array.isArray(child) && child.length > 0)
      ? []
      : emptyValues(child, `${path}/${key}`),
  );
}
