import { openTracker, type RoutineRun, runRoutine, TicketGate } from '@opsbook/runner';
import { stateStoreOf } from '@opsbook/state';
import type { CommandContext } from './command.js';
import { executorSignerFor } from './commands/ticket-signer.js';
import { configFor } from './context.js';
import { askSecret } from './prompt.js';
import { interruptible, openRunView } from './run-view.js';
import { runningStepsOf } from './running-steps.js';

/**
 * Run a routine runbook under its standing approval for `opsbook inspect` / `opsbook inventory`:
 * the same verified, journaled, ticket-tied run as `opsbook run`, with progress on stderr.
 */
export async function runRoutineCommand(
  ctx: CommandContext,
  runbook: string,
  target: string | undefined,
  inventoryFile: string | undefined,
): Promise<RoutineRun> {
  const config = await configFor(ctx);
  const executorSigner = await executorSignerFor(ctx);
  // On a terminal, the same live status as opsbook run; host output stays in the journal.
  const view = await openRunView(ctx.out, { raw: false, quiet: true });
  const runningSteps = runningStepsOf();
  const { signal, stopSignal, done, ended } = interruptible(view.out, {
    stopsCommands: true,
    runningSteps: runningSteps.list,
  });
  let started: { runId: string; ticket?: string } | undefined;
  try {
    return await runRoutine({
      config,
      runbook,
      executorSigner,
      ...(target ? { target } : {}),
      ...(inventoryFile ? { inventoryFile } : {}),
      env: process.env,
      askSecret: (name, variable) => askSecret(`secret param ${name} (${variable}, not echoed): `),
      signal,
      stopSignal,
      ticket: new TicketGate({
        services: openTracker(config, process.env),
        store: stateStoreOf(config),
        signal,
      }),
      onEvent: (event) => {
        runningSteps.onEvent(event);
        if (event.type === 'run-start') started = { runId: event.runId, ticket: event.ticket };
        // A second Ctrl-C after this leaves a run that has ended (interruptible).
        if (event.type === 'run-end' && started) ended(started);
        view.onEvent(event);
      },
    });
  } finally {
    view.close();
    done();
  }
}
