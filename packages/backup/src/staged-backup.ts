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
  try {
    const manifest = await take({ id, dir, signal: inner.signal });
    const committed = await commitBackup(repo, dir, manifest);
    return {
      backup: { id, ...committed, manifest, verification: undefined },
      warnings: manifest.warnings,
    };
  } catch (e) {
    inner.abort();
    await discardStaged(dir);
    if (options.signal?.aborted) throw new InterruptedError(options.cancelledMessage);
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
