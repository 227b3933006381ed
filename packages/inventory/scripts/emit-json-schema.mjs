// Writes the facts JSON Schemas next to the build output, so that tools outside opsbook (jq
// pipelines, a CMDB import, editors) can validate `opsbook inventory --json` with the one source.
import { writeFile } from 'node:fs/promises';
import { fleetStatisticsSchema, hostFactsSchema } from '../dist/index.js';

for (const [name, schema] of [
  ['host-facts', hostFactsSchema],
  ['fleet-statistics', fleetStatisticsSchema],
]) {
  await writeFile(
    new URL(`../dist/${name}.schema.json`, import.meta.url),
    `${JSON.stringify(schema, null, 2)}\n`,
  );
}
