import { configSchema } from './config-schema.js';
import { runbookSchema } from './runbook-schema.js';

/** The schemas of this package that are compiled ahead of time into generated/validators.ts. */
export const schemasToCompile = {
  validateRunbook: runbookSchema,
  validateConfig: configSchema,
};
