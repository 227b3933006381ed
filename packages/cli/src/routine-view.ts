import { openTracker, type RoutineRun, runRoutine, TicketGate } from '@opsbook/runner';
import { stateStoreOf } from '@opsbook/state';
import type { CommandContext } from './command.js';
import { executorSignerFor } from './commands/ticket-signer.js';
import { configFor } from './context.js';
import { interruptible, runProgress } from './run-view.js';

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
  const { signal, done } = interruptible(ctx.out);
  try {
    return await runRoutine({
      config,
      runbook,
      executorSigner,
      ...(target ? { target } : {}),
      ...(inventoryFile ? { inventoryFile } : {}),
      env: process.env,
      signal,
      ticket: new TicketGate({
        services: openTracker(config, process.env),
        store: stateStoreOf(config),
        signal,
      }),
      onEvent: runProgress(ctx.out),
    });
  } finally {
    done();
  }
}
