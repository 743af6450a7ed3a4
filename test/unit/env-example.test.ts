import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('.env.example', () => {
  it('documents every variable of the config schema, with its default', () => {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/config.schema.json', import.meta.url), 'utf8')) as {
      properties: Record<string, { default: unknown; description: string }>;
    };
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    for (const [name, property] of Object.entries(schema.properties)) {
      expect(property.description.length).toBeGreaterThan(10);
      expect(example).toContain(`\n${name}=${property.default}\n`);
    }
  });
});
