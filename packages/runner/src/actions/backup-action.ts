import path from 'node:path';
import {
  type BackupAction,
  type BackupEntry,
  backupActions,
  backupQueryOf,
  isSet,
  listBackups,
  matchBackup,
  openRepository,
} from '@opsbook/backup';
import type { Config, Phase, RunbookBundle } from '@opsbook/schema';
import { UsageError } from '@opsbook/schema';
import { type RunRecordView, stateStoreOf } from '@opsbook/state';
import type { BuiltinAction, PlanFacts } from './actions.js';

/** The backup repository of a runner: `<stateDir>/backups` (layout: @opsbook/backup README). */
export function backupRepositoryOf(stateDir: string): string {
  return path.join(stateDir, 'backups');
}

const PHASES: readonly Phase[] = ['prechecks', 'steps', 'postchecks', 'rollback', 'evidence'];

/**
 * A backup of the runner's repository as a plan sees it: `unproven` says why no verified run
 * journal of the state store shows opsbook making it (undefined when one does, `madeBy`).
 */
export interface PlanBackup extends BackupEntry {
  madeBy?: string;
  unproven?: string;
}

/**
 * The runner's backups, for a plan of runbooks one of whose steps may select a backup (verify,
 * restore, compare); undefined when none does. No repository yet: no backups. When one restores,
 * each is checked against the run its manifest names (provenanceOf): the repository is a folder
 * of the engineer's, the journals are hash-chained and signed. A plan that only verifies or
 * compares backups reads no journal (bindBackup asks provenance of restores only).
 */
export async function backupsForPlan(
  config: Config,
  bundles: readonly Pick<RunbookBundle, 'runbook'>[],
): Promise<readonly PlanBackup[] | undefined> {
  const uses = (which: (uses: string) => boolean) =>
    bundles.some((b) =>
      PHASES.some((p) =>
        (b.runbook.spec[p] ?? []).some((s) => s.uses !== undefined && which(s.uses)),
      ),
    );
  if (!uses((u) => SELECTING.has(u))) return undefined;
  const repo = await openRepository(backupRepositoryOf(config.stateDir)).catch(() => undefined);
  if (!repo) return [];
  const { backups } = await listBackups(repo);
  if (!uses((u) => u === 'backup.restore')) return backups;
  const store = stateStoreOf(config);
  const runs = new Map<string, Promise<RunRecordView | undefined>>();
  const runOf = (runId: string) => {
    let run = runs.get(runId);
    if (!run) {
      run = store.readRun(runId, { exact: true }).then(
        (r) => (r.runId === runId ? r : undefined),
        () => undefined,
      );
      runs.set(runId, run);
    }
    return run;
  };
  return Promise.all(
    backups.map(async (b): Promise<PlanBackup> => ({ ...b, ...(await provenanceOf(b, runOf)) })),
  );
}

/**
 * Whether the run a backup's manifest names made it: that run's journal verifies and holds an
 * ok `backup.files` / `backup.postgres` step on the manifest's host that made this backup id
 * with exactly these archives (name, sha256, size). A backup written into the repository by
 * hand (or brought from another runner whose journals this store lacks) is unproven.
 */
async function provenanceOf(
  backup: BackupEntry,
  runOf: (runId: string) => Promise<RunRecordView | undefined>,
): Promise<Pick<PlanBackup, 'madeBy' | 'unproven'>> {
  const { runId, host } = backup.manifest;
  if (typeof runId !== 'string' || runId === '')
    return { unproven: 'its manifest names no run (not made by opsbook run)' };
  const run = await runOf(runId);
  if (!run)
    return { unproven: `its manifest names run ${runId}, which the state store does not have` };
  if (!run.verification.ok) return { unproven: `the journal of run ${runId} does not verify` };
  const archives = archivesKey(backup.manifest.archives);
  const made = run.verification.events.some((e) => {
    if (e.type !== 'step-end' || e.status !== 'ok' || e.host !== host) return false;
    if (e.uses !== 'backup.files' && e.uses !== 'backup.postgres') return false;
    const data = e.result as { backupId?: unknown; archives?: unknown } | undefined;
    return data?.backupId === backup.id && archivesKey(data.archives) === archives;
  });
  return made
    ? { madeBy: `run ${runId}` }
    : {
        unproven: `the verified journal of run ${runId} shows no backup step on ${host} that made it with these archives`,
      };
}

/** What identifies a backup's content: each archive's name, sha256 and size, in order. */
function archivesKey(archives: unknown): string {
  if (!Array.isArray(archives)) return '';
  return JSON.stringify(
    archives.map((a) => {
      const { name, sha256, size } = (a ?? {}) as Record<string, unknown>;
      return [name, sha256, size];
    }),
  );
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
  if (action !== 'backup.restore')
    return { ...given, backup: found.id, manifest: found.manifestDigest };
  // What the senior signs says where the backup came from; one opsbook did not make is restored
  // only when the plan asks for it (the restore's `unproven`), and then says why.
  const { madeBy: _set, ...asked } = given;
  const { unproven } = found as PlanBackup;
  if (unproven && !isSet(asked.unproven))
    throw new UsageError(
      `backup ${found.id} cannot be restored as planned: ${unproven}, so nothing shows what it holds came from ${query.host ?? facts.host}; restore only backups opsbook made (opsbook backup list --history), or, knowing where this one came from, plan it with the restore's unproven: true (the runbook's unproven param) for the senior to see`,
    );
  return {
    ...asked,
    backup: found.id,
    manifest: found.manifestDigest,
    madeBy: unproven ? `unproven: ${unproven}` : (found as PlanBackup).madeBy,
  };
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
