import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import {
  openTracker,
  readApprovalFile,
  runApproved,
  runDistributed,
  TicketGate,
  verifyApprovalFile,
} from '@opsbook/runner';
import { type Config, UsageError } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { type CommandContext, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { planText } from '../plan-view.js';
import { executeAndReport, runDetails, runOptions } from './execute-and-report.js';

export default defineCommand({
  args: '<approval-file>',
  positionals: { min: 1, max: 1 },
  options: {
    ...runOptions,
    'dry-run': { type: 'boolean', description: 'verify and print the plan, touch nothing' },
  },
  details: runDetails,
  async run(ctx) {
    const config = await configFor(ctx);
    const file = ctx.positionals[0]!;
    if (ctx.options['dry-run']) {
      if (stringOption(ctx, 'retry-failed') !== undefined)
        throw new UsageError('--retry-failed runs hosts: it does not go with --dry-run');
      return dryRun(ctx, config, file);
    }
    // A mistyped approval file is said first (exit 2), before a missing key (exit 3): one access
    // here, the runner reads it (that read's error is the one shown).
    if (
      !(await access(file, constants.R_OK).then(
        () => true,
        () => false,
      ))
    )
      await readApprovalFile(file);
    return executeAndReport(ctx, config, ({ distribute, ...run }) =>
      (distribute ? runDistributed : runApproved)({
        ...run,
        ...distribute,
        approvalFile: file,
        // Every run is tied to its ticket: checked first, told the results at the end.
        ticket: new TicketGate({
          services: openTracker(config, process.env),
          store: stateStoreOf(config),
          signal: run.signal,
        }),
      }),
    );
  },
});

/** Verify the approval and print its plan; nothing is executed. */
async function dryRun(ctx: CommandContext, config: Config, file: string): Promise<number> {
  const inventoryFile = stringOption(ctx, 'inventory');
  const { out } = ctx;
  const v = await verifyApprovalFile(file, {
    config,
    ...(inventoryFile ? { inventoryFile } : {}),
  });
  if (out.json)
    out.printJson({
      dryRun: true,
      plan: v.plan,
      planDigest: v.planDigest,
      statement: v.verified.statement,
    });
  else
    out.print(
      `${planText(v.plan, v.planDigest, out.style, v.verified.statement)}\n\n${out.style.green('✓ approval valid')}: dry run, nothing was executed`,
    );
  return exitCodes.ok;
}
