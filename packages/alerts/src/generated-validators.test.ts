import { readFile } from 'node:fs/promises';
import { generateValidatorModule } from '@opsbook/schema/codegen';
import { describe, expect, it } from 'vitest';
import { schemasToCompile } from './compiled-schemas.js';

describe('generated validators', () => {
  it('match the schemas they were generated from (run `pnpm gen` after changing a schema)', async () => {
    const committed = await readFile(new URL('./generated/validators.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generateValidatorModule(schemasToCompile));
  });
});
