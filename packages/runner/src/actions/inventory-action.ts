import { FACTS_COLLECTOR, parseHostFacts } from '@opsbook/inventory';
import { runCollector } from '../execute/run-collector.js';
import type { BuiltinAction } from './actions.js';

/**
 * `inventory.collect`: run the read-only facts collector on the host and journal its facts as
 * `result.facts` (the health report and `opsbook inventory` read them from there).
 */
export const inventoryCollectAction: BuiltinAction = {
  name: 'inventory.collect',
  description:
    'Collect host facts: OS, kernel, CPU, memory, swap, filesystems, block devices, interfaces, uptime, listening services (read-only)',
  withSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    properties: {},
  },
  async run(ctx) {
    const exec = await runCollector(ctx, FACTS_COLLECTOR);
    if (exec.timedOut)
      return { status: 'failed', exec, reason: 'the inventory.collect collector timed out' };
    // The collector exits 0 on any host; facts it could not read are listed in `facts.unknown`.
    return { status: 'ok', exec, result: { facts: parseHostFacts(ctx.host, exec.stdout) } };
  },
};
