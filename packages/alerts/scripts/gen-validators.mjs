// Regenerates src/generated/validators.ts (ajv standalone code) from the schemas in dist/.
// Run through `pnpm gen` (builds first). A test fails when the committed file is stale.
import { writeFile } from 'node:fs/promises';
import { generateValidatorModule } from '@opsbook/schema/codegen';
import { schemasToCompile } from '../dist/compiled-schemas.js';

await writeFile(
  new URL('../src/generated/validators.ts', import.meta.url),
  generateValidatorModule(schemasToCompile),
);
