import { CommandCancelledError, killUnconfirmedText, type StreamExecution } from '@opsbook/exec';
import { InterruptedError, storageErrorOf } from '@opsbook/schema';
import { linkedController } from './archive-writer.js';
import type { BackupOutcome } from './file-backup.js';
import type { Manifest } from './manifest.js';
import {
  commitBackup,
  discardStaged,
  newBackupId,
  type Repository,
  stageBackup,
} from './repository.js';

/** A backup being taken: its id, the staging folder its archive goes into, and its signal. */
export interface StagedBackup {
  id: string;
  dir: string;
  /** Aborted when the backup fails: a failed write stops the command on the host, and the reverse. */
  signal: AbortSignal;
  /**
   * Tells which command writes the archive (returned as given): when the backup fails, its end
   * is waited for, so that a cancelled backup says whether the host confirmed the command's kill.
   */
  writtenBy(run: StreamExecution): StreamExecution;
}

export interface StagedBackupOptions {
  kind: string;
  host: string;
  startedAt: Date;
  /** The caller's cancellation. */
  signal: AbortSignal | undefined;
  /** What a cancelled backup says (`the backup of web-1 was cancelled; nothing was kept`). */
  cancelledMessage: string;
}

/**
 * Stage a backup, let `take` write its archive and return its manifest, then commit it to
 * `backups/`. On any failure both ends stop and the staging folder is discarded: nothing is kept.
 */
export async function takeStagedBackup(
  repo: Repository,
  options: StagedBackupOptions,
  take: (staged: StagedBackup) => Promise<Manifest>,
): Promise<BackupOutcome> {
  const id = newBackupId(options.kind, options.host, options.startedAt);
  const dir = await stageBackup(repo, id);
  const inner = linkedController(options.signal);
  let command: StreamExecution | undefined;
  const writtenBy = (run: StreamExecution) => {
    command = run;
    return run;
  };
  try {
    const manifest = await take({ id, dir, signal: inner.signal, writtenBy });
    const committed = await commitBackup(repo, dir, manifest);
    return {
      backup: { id, ...committed, manifest, verification: undefined },
      warnings: manifest.warnings,
    };
  } catch (e) {
    inner.abort();
    // The archive's writer stops at once; the command's own end comes once its host confirmed
    // the kill (at most KILL_CONFIRM_WAIT_MS of @opsbook/exec: a frozen host confirms nothing).
    const ended = await command?.done.then(
      () => undefined,
      (error: unknown) => error,
    );
    await discardStaged(dir);
    if (options.signal?.aborted) {
      if (ended instanceof CommandCancelledError && !ended.isKillConfirmed)
        throw new CommandCancelledError(
          ended.host,
          false,
          `${options.cancelledMessage} in the runner's repository; ${killUnconfirmedText(ended.host)}: the backup's command may still be running there, check the host`,
        );
      throw new InterruptedError(options.cancelledMessage);
    }
    // A full or read-only repository: say which one and what to do, not Node's errno text (a
    // write on an open archive names no path; one that names another file is not ours to word).
    const where = (e as { path?: unknown }).path;
    const inRepository =
      where === undefined || (typeof where === 'string' && where.startsWith(`${repo.dir}/`));
    throw (
      (inRepository
        ? storageErrorOf(e, {
            place: `the backup repository ${repo.dir}`,
            outcome: `The backup of ${options.host} stopped and nothing of it was kept`,
          })
        : undefined) ?? e
    );
  }
}
