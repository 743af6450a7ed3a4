import { readSchema } from '../../schemas.ts';

/** Where the published contracts keep their schemas: `#/components/schemas/<Name>`, in OpenAPI and AsyncAPI alike. */
export const COMPONENTS = '#/components/schemas/';

/** The component name of a schema file: `upload-record.schema.json` is `UploadRecord`. */
export function componentNameOf(file: string): string {
  const stem = /^([a-z0-9]+(?:-[a-z0-9]+)*)\.schema\.json$/.exec(file)?.[1];
  if (!stem) throw new Error(`${file} is not named like the files of schemas/ (kebab-case, .schema.json)`);
  return stem.split('-').map((word) => word[0]?.toUpperCase() + word.slice(1)).join('');
}

/** `#/components/schemas/<Name>` of a schema file, with an optional JSON pointer into it. */
export const refTo = (file: string, pointer = ''): { $ref: string } => ({ $ref: `${COMPONENTS}${componentNameOf(file)}${pointer}` });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * One schema file as a component of a contract document: its `$schema` and `$id` dropped, and every
 * `$ref` (within the file, `#/…`, or to another file, `other.schema.json#/…`) pointed at the
 * component it names, so that the document stands alone and any OpenAPI or AsyncAPI tool resolves it.
 * The file stays the one source of truth: nothing of it is written twice.
 */
function asComponent(file: string, schema: Json, referenced: Set<string>): Json {
  const rewrite = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => {
        if (key !== '$ref' || typeof value !== 'string') return [key, rewrite(value)];
        const [target = '', pointer = ''] = value.split('#');
        const into = target === '' ? file : target;
        if (!/^[a-z0-9-]+\.schema\.json$/.test(into)) throw new Error(`schemas/${file}: $ref ${value} is not to a file of schemas/`);
        referenced.add(into);
        return [key, refTo(into, pointer).$ref];
      }),
    );
  };
  const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, Json>;
  return rewrite(rest);
}

/** The components of a contract: the given schema files and every file they refer to, each under its component name. */
export function componentSchemas(files: readonly string[]): Record<string, Json> {
  const components: Record<string, Json> = {};
  const pending = [...files];
  const done = new Set<string>();
  while (pending.length) {
    const file = pending.shift() as string;
    if (done.has(file)) continue;
    done.add(file);
    const referenced = new Set<string>();
    components[componentNameOf(file)] = asComponent(file, readSchema(file) as Json, referenced);
    pending.push(...referenced);
  }
  return Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
}
