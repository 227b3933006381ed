// Writes the JSON Schemas next to the build output so that editors (yaml-language-server's
// `# yaml-language-server: $schema=...`) and other tools can use the one source of truth.
import { writeFile } from 'node:fs/promises';
import { configSchema, runbookSchema } from '../dist/index.js';

await writeFile(
  new URL('../dist/runbook.schema.json', import.meta.url),
  `${JSON.stringify(runbookSchema, null, 2)}\n`,
);
await writeFile(
  new URL('../dist/config.schema.json', import.meta.url),
  `${JSON.stringify(configSchema, null, 2)}\n`,
);
