// Regenerates src/generated/action-specs.ts and action-validators.ts from the built-in actions in
// dist/. Run through `pnpm gen` (builds first). A test fails when the committed files are stale.
import { writeFile } from 'node:fs/promises';
import { generateActionSpecModules } from '../dist/actions/action-spec-codegen.js';
import { builtinActions } from '../dist/actions/actions.js';

const { specs, validators } = generateActionSpecModules(builtinActions().values());
await writeFile(new URL('../src/generated/action-specs.ts', import.meta.url), specs);
await writeFile(new URL('../src/generated/action-validators.ts', import.meta.url), validators);
