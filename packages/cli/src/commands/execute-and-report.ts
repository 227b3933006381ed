import type { RunOutcome, RunRequest } from '@opsbook/runner';
import type { Config } from '@opsbook/schema';
import { type CommandContext, type OptionSpec, stringOption } from '../command.js';
import { exitForRun } from '../exit-code.js';
import { interruptible, openRunView, printRunOutcome } from '../run-view.js';
import { executorOptions, executorSignerFor } from './ticket-signer.js';

/*
 * What `opsbook run FILE` and `opsbook ticket run KEY` share: they differ only in where the
 * approval comes from (a file, or the ticket) and how its ticket is checked.
 */

/** The options of every command that runs an approval. */
export const runOptions: Record<string, OptionSpec> = {
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
  raw: {
    type: 'boolean',
    description: 'print command output as-is, control characters and escape sequences included',
  },
  verbose: { type: 'boolean', description: 'list every host in the summary, not only failed ones' },
  'retry-failed': {
    type: 'string',
    value: 'RUN_ID',
    description:
      'run only the hosts that did not end ok in that run of the same approval (uses a run like any other)',
  },
};

/** The --help text on what every run does with secrets, Ctrl-C and command output. */
export const runDetails = `Secret params come from OPSBOOK_PARAM_<NAME> in the environment. Ctrl-C stops new work:
running commands finish or time out, the run is recorded as interrupted (exit 130); a second
Ctrl-C stops at once (the journal then ends without run-end and verifies as incomplete).
Command output shows control characters as text (ESC as \\x1b), so a host cannot retitle, clear
or write the clipboard of your terminal; --raw passes them. A line longer than 65536 characters
is shown cut, marked so.

A run that reached no host (every host unreachable or refusing its host key, no step started
anywhere) does not use the approval, and its ticket stays In Progress: run it again once the
hosts can be reached. A run that started any step uses one of the approval's maxRuns, however it
ended. --retry-failed RUN_ID runs only the hosts that did not end ok (failed, unreachable,
cancelled, not started) in RUN_ID, an ended run of the same approval whose journal verifies;
it needs a run left like any run. While runs are left, a run that did not end ok leaves the
ticket In Progress for it.`;

/** Everything a run needs but its approval file and its ticket gate. */
export type RunStart = Omit<RunRequest, 'approvalFile' | 'ticket'>;

/**
 * Run an approval with the options of `runOptions`: the executor's key, Ctrl-C, live progress on
 * stderr, then the result table (or one JSON document); returns the exit code of the run's
 * status. `start` finds the approval and hands everything to the runner.
 */
export async function executeAndReport(
  ctx: CommandContext,
  config: Config,
  start: (run: RunStart) => Promise<RunOutcome>,
): Promise<number> {
  const executorSigner = await executorSignerFor(ctx);
  const { out } = ctx;
  const view = await openRunView(out, {
    raw: Boolean(ctx.options.raw),
    quiet: Boolean(ctx.options.quiet),
  });
  const { signal, done } = interruptible(view.out);
  const t0 = Date.now();
  try {
    const inventoryFile = stringOption(ctx, 'inventory');
    const retryOf = stringOption(ctx, 'retry-failed');
    const outcome = await start({
      config,
      executorSigner,
      ...(inventoryFile ? { inventoryFile } : {}),
      ...(retryOf !== undefined ? { retryOf } : {}),
      env: process.env,
      acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
      signal,
      onEvent: view.onEvent,
      ...(view.onOutput ? { onOutput: view.onOutput } : {}),
    });
    view.close();
    if (out.json)
      out.printJson({
        runId: outcome.runId,
        status: outcome.status,
        hosts: outcome.result.hosts,
        journal: outcome.journal,
        ticket: outcome.ticket,
        ...(outcome.retryOf ? { retryOf: outcome.retryOf } : {}),
        approvalUse: outcome.approvalUse,
      });
    else
      printRunOutcome(out, outcome, (Date.now() - t0) / 1000, {
        verbose: Boolean(ctx.options.verbose),
      });
    return exitForRun[outcome.status];
  } finally {
    view.close();
    done();
  }
}
