import path from 'node:path';
import {
  type BackupAction,
  type BackupEntry,
  backupActions,
  backupQueryOf,
  listBackups,
  matchBackup,
  openRepository,
} from '@opsbook/backup';
import type { Phase, RunbookBundle } from '@opsbook/schema';
import { UsageError } from '@opsbook/schema';
import type { BuiltinAction, PlanFacts } from './actions.js';

/** The backup repository of a runner: `<stateDir>/backups` (layout: @opsbook/backup README). */
export function backupRepositoryOf(stateDir: string): string {
  return path.join(stateDir, 'backups');
}

const PHASES: readonly Phase[] = ['prechecks', 'steps', 'postchecks', 'rollback', 'evidence'];

/**
 * The runner's backups, for a plan of runbooks one of whose steps may select a backup (verify,
 * restore, compare); undefined when none does. No repository yet: no backups.
 */
export async function backupsForPlan(
  stateDir: string,
  bundles: readonly Pick<RunbookBundle, 'runbook'>[],
): Promise<readonly BackupEntry[] | undefined> {
  const selects = bundles.some((b) =>
    PHASES.some((p) =>
      (b.runbook.spec[p] ?? []).some((s) => s.uses !== undefined && SELECTING.has(s.uses)),
    ),
  );
  if (!selects) return undefined;
  const repo = await openRepository(backupRepositoryOf(stateDir)).catch(() => undefined);
  return repo ? (await listBackups(repo)).backups : [];
}

const SELECTING = new Set(['backup.verify', 'backup.restore', 'backup.compare']);

/**
 * Binds the backup a step selects into its `with:`: its id (`latest` resolved) and the digest of
 * its manifest, which names every archive's sha256. The senior signs that backup; one swapped or
 * added in the repository afterwards renders another plan (PLAN_MISMATCH), and the action refuses
 * a manifest that changed between the check and the restore (BACKUP_CHANGED). A restore needs its
 * backup to exist when it is planned; a check of one that does not exist yet is left as written.
 */
function bindBackup(action: string, withValue: unknown, facts: PlanFacts): unknown {
  const w = (withValue ?? {}) as Record<string, unknown>;
  const { manifest: _ignored, ...given } = w;
  const query = backupQueryOf(action, given, facts.host);
  if (!query) return w;
  if (!facts.backups)
    throw new Error(`${action} on ${facts.host} was planned without the backup repository`);
  const found = matchBackup(facts.backups, query);
  if (!found) {
    if (action !== 'backup.restore') return given;
    throw new UsageError(
      `no ${query.kind} backup ${query.id} from ${query.host} in the runner's repository: a restore is planned for a backup that exists (its manifest is bound into the plan); list them with opsbook backup list`,
    );
  }
  return { ...given, backup: found.id, manifest: found.manifestDigest };
}

/** `backup.*` actions as runner actions: the repository is the runner's, secrets come from env. */
function adapt(action: BackupAction): BuiltinAction {
  return {
    name: action.name,
    description: action.description,
    withSchema: action.withSchema,
    bind: (withValue, _vars, _origins, facts) => bindBackup(action.name, withValue, facts),
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
