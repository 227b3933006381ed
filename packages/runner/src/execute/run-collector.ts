import type { ExecResult } from '@opsbook/exec';
import type { ActionContext } from '../actions/actions.js';

/** Run a read-only collector command of an action on the step's host, with the step's settings. */
export function runCollector(ctx: ActionContext, command: string): Promise<ExecResult> {
  return ctx.transport.exec({
    command,
    env: ctx.env,
    sudo: ctx.sudo,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
    onStdout: ctx.onStdout,
    onStderr: ctx.onStderr,
  });
}
