import { runTicket } from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import {
  exitForRun,
  hostOutputPrinter,
  interruptible,
  printRunOutcome,
  runProgress,
} from '../run-view.js';
import { trackerFor } from '../tracker-services.js';
import { executorOptions, executorSignerFor } from './ticket-signer.js';

export default defineCommand({
  name: 'ticket run',
  summary:
    'run the approval attached to a ticket (→ In Progress, then → In Review with the results)',
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...executorOptions,
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory the plan was made with',
    },
    'accept-new-host-keys': {
      type: 'boolean',
      description: 'add unknown host keys to known_hosts (changed keys are still refused)',
    },
    quiet: { type: 'boolean', short: 'q', description: 'no command output, only step results' },
  },
  details: `Refuses (exit 3) unless KEY is the approval's ticket and is Approved or In Progress; exits 4,
running nothing, when the tracker cannot be asked. The end-of-run comment, the journal, the
evidence and the move to In Review go through the outbox: a tracker outage never fails a
finished run (opsbook outbox flush sends them later).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const executorSigner = await executorSignerFor(ctx);
    const { out } = ctx;
    const stop = interruptible(out);
    const t0 = Date.now();
    try {
      const inventoryFile = stringOption(ctx, 'inventory');
      const outcome = await runTicket({
        services: trackerFor(config),
        key: ctx.positionals[0]!,
        config,
        executorSigner,
        env: process.env,
        signal: stop.signal,
        acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
        ...(inventoryFile ? { inventoryFile } : {}),
        onEvent: runProgress(out),
        ...(ctx.options.quiet ? {} : { onOutput: hostOutputPrinter(out, { raw: false }) }),
      });
      if (out.json)
        out.printJson({
          runId: outcome.runId,
          status: outcome.status,
          hosts: outcome.result.hosts,
          journal: outcome.journal,
          ticket: outcome.ticket,
        });
      else printRunOutcome(out, outcome, (Date.now() - t0) / 1000);
      return exitForRun[outcome.status];
    } finally {
      stop.done();
    }
  },
});
