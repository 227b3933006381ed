import { readFileSync } from 'node:fs';
import { generateValidatorModule } from '@opsbook/schema/codegen';
import { describe, expect, it } from 'vitest';
import { schemasToCompile } from './compiled-schemas.js';
import { inspectionCheckNames, inspectionChecks, listInspectionActions } from './index.js';

/** Every object schema in the tree, with its path. */
function objectSchemas(schema: unknown, at = '#'): [string, Record<string, unknown>][] {
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Record<string, unknown>;
  const own: [string, Record<string, unknown>][] = s.type === 'object' ? [[at, s]] : [];
  const props = (s.properties ?? {}) as Record<string, unknown>;
  return [
    ...own,
    ...Object.entries(props).flatMap(([k, v]) => objectSchemas(v, `${at}/properties/${k}`)),
  ];
}

describe('the catalogue', () => {
  it('holds at least 15 checks, each named inspection.<check> after its key', () => {
    expect(inspectionCheckNames.length).toBeGreaterThanOrEqual(15);
    for (const name of inspectionCheckNames) {
      expect(inspectionChecks[name].name).toBe(name);
      expect(name).toMatch(/^inspection\.[a-z][a-z0-9-]*$/);
    }
  });

  it('gives every check a draft 2020-12 with: schema made of closed objects', () => {
    for (const { name, withSchema } of listInspectionActions()) {
      expect((withSchema as { $schema?: string }).$schema, name).toBe(
        'https://json-schema.org/draft/2020-12/schema',
      );
      for (const [at, s] of objectSchemas(withSchema))
        expect(s.additionalProperties, `${name} ${at}`).toBe(false);
    }
  });

  it('declares a default for every threshold', () => {
    for (const { name, withSchema } of listInspectionActions()) {
      const props =
        (
          withSchema as {
            properties?: { thresholds?: { properties?: Record<string, { default?: unknown }> } };
          }
        ).properties?.thresholds?.properties ?? {};
      for (const [k, v] of Object.entries(props))
        expect(typeof v.default, `${name}.${k}`).toBe('number');
    }
  });

  it('has generated validators that match the schemas (run `pnpm gen` after changing one)', () => {
    const committed = readFileSync(new URL('./generated/validators.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generateValidatorModule(schemasToCompile));
  });
});
