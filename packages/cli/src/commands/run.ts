import { openTracker, runApproved, TicketGate, verifyApprovalFile } from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { planText } from '../plan-view.js';
import {
  exitForRun,
  hostOutputPrinter,
  interruptible,
  printRunOutcome,
  runProgress,
} from '../run-view.js';
import { executorOptions, executorSignerFor } from './ticket-signer.js';

export default defineCommand({
  name: 'run',
  summary:
    'run an approved runbook: verify the approval, execute exactly what was signed, journal it',
  args: '<approval-file>',
  positionals: { min: 1, max: 1 },
  options: {
    ...executorOptions,
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory the plan was made with',
    },
    'dry-run': { type: 'boolean', description: 'verify and print the plan, touch nothing' },
    'accept-new-host-keys': {
      type: 'boolean',
      description: 'add unknown host keys to known_hosts (changed keys are still refused)',
    },
    quiet: { type: 'boolean', short: 'q', description: 'no command output, only step results' },
    raw: {
      type: 'boolean',
      description: 'print command output as-is, control characters and escape sequences included',
    },
  },
  details: `Secret params come from OPSBOOK_PARAM_<NAME> in the environment. Ctrl-C stops new work:
running commands finish or time out, the run is recorded as interrupted (exit 130); a second
Ctrl-C stops at once (the journal then ends without run-end and verifies as incomplete).
Command output shows control characters as text (ESC as \\x1b), so a host cannot retitle, clear
or write the clipboard of your terminal; --raw passes them. A line longer than 65536 characters
is shown cut, marked so.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const file = ctx.positionals[0]!;
    const inventoryFile = stringOption(ctx, 'inventory');
    const { out } = ctx;
    if (ctx.options['dry-run']) {
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
      return 0;
    }
    const executorSigner = await executorSignerFor(ctx);
    const { signal, done } = interruptible(out);
    const t0 = Date.now();
    try {
      const outcome = await runApproved({
        config,
        approvalFile: file,
        executorSigner,
        ...(inventoryFile ? { inventoryFile } : {}),
        env: process.env,
        acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
        signal,
        // Every run is tied to its ticket (DESIGN §1): checked first, told the results at the end.
        ticket: new TicketGate({
          services: openTracker(config, process.env),
          stateDir: config.stateDir,
          signal,
        }),
        onEvent: runProgress(out),
        ...(ctx.options.quiet
          ? {}
          : { onOutput: hostOutputPrinter(out, { raw: Boolean(ctx.options.raw) }) }),
      });
      if (out.json) {
        out.printJson({
          runId: outcome.runId,
          status: outcome.status,
          hosts: outcome.result.hosts,
          journal: outcome.journal,
          ticket: outcome.ticket,
        });
      } else {
        printRunOutcome(out, outcome, (Date.now() - t0) / 1000);
      }
      return exitForRun[outcome.status];
    } finally {
      done();
    }
  },
});
