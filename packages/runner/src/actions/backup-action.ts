import path from 'node:path';
import { type BackupAction, backupActions } from '@opsbook/backup';
import type { BuiltinAction } from './actions.js';

/** The backup repository of a runner: `<stateDir>/backups` (layout: @opsbook/backup README). */
export function backupRepositoryOf(stateDir: string): string {
  return path.join(stateDir, 'backups');
}

/** `backup.*` actions as runner actions: the repository is the runner's, secrets come from env. */
function adapt(action: BackupAction): BuiltinAction {
  return {
    name: action.name,
    description: action.description,
    withSchema: action.withSchema,
    async run(ctx) {
      const out = await action.run({
        transport: ctx.transport,
        host: ctx.host,
        with: (ctx.with ?? {}) as Record<string, unknown>,
        repository: backupRepositoryOf(ctx.stateDir),
        runId: ctx.runId,
        secrets: ctx.env,
        signal: ctx.signal,
        progress: (event) => ctx.onStdout(`${JSON.stringify(event)}\n`),
        ...(ctx.connect ? { connect: ctx.connect } : {}),
      });
      ctx.onStdout(`${out.summary}\n`);
      return {
        status: out.ok ? 'ok' : 'failed',
        ...(out.ok ? {} : { reason: out.summary }),
        result: out.data,
      };
    },
  };
}

export function backupBuiltins(): BuiltinAction[] {
  return [...backupActions.values()].map(adapt);
}
