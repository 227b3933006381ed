import {
  renderFleetStatisticsCsv,
  renderFleetStatisticsJson,
  renderFleetStatisticsTable,
} from '@opsbook/inventory';
import { routineFleetStatistics } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitForRun } from '../exit-code.js';
import { runRoutineCommand } from '../routine-view.js';
import { executorOptions } from './ticket-signer.js';

const FORMATS = ['table', 'json', 'csv'] as const;

export default defineCommand({
  options: {
    ...executorOptions,
    format: {
      type: 'string',
      value: 'table|json|csv',
      description: 'output format (default table)',
    },
    target: {
      type: 'string',
      value: 'PATTERN',
      description: "must equal the standing approval's selector (default: that selector)",
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory file or folder',
    },
  },
  details: `Runs the resource-inventory runbook under the standing approval named for it in
opsbook.yaml (standing: {resource-inventory: FILE}); refuses (exit 3) without one. Prints totals,
used %, OS and kernel distribution and the fullest filesystems, for the fleet and each group.

Examples:
  opsbook inventory
  opsbook inventory --format csv > fleet.csv`,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError('opsbook inventory takes no arguments');
    const format = ctx.out.json ? 'json' : (stringOption(ctx, 'format') ?? 'table');
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not '${format}'`);
    const inventoryFile = stringOption(ctx, 'inventory');
    const routine = await runRoutineCommand(
      ctx,
      'resource-inventory',
      stringOption(ctx, 'target'),
      inventoryFile,
    );
    const config = await configFor(ctx);
    const stats = await routineFleetStatistics(
      { config, ...(inventoryFile ? { inventoryFile } : {}) },
      routine.facts,
    );
    // The CSV's CRLFs and the JSON's strings are data: printed as they are, not shown.
    if (format === 'json') ctx.out.printData(renderFleetStatisticsJson(stats));
    else if (format === 'csv') ctx.out.printData(renderFleetStatisticsCsv(stats));
    else ctx.out.print(renderFleetStatisticsTable(stats).trimEnd());
    return exitForRun[routine.outcome.status];
  },
});
