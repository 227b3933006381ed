// Writes the report's JSON Schema next to the build, for tools that validate the JSON report.
import { writeFile } from 'node:fs/promises';
import { healthReportSchema } from '../dist/report-schema.js';

await writeFile(
  new URL('../dist/report.schema.json', import.meta.url),
  `${JSON.stringify(healthReportSchema, null, 2)}\n`,
);
