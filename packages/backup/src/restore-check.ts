import { quoteShellArg, type Transport } from '@opsbook/exec';
import { openArchiveSource } from './archive-source.js';
import { backupErrors } from './error-codes.js';
import {
  type BackupSelector,
  checkTarget,
  decompressFlag,
  lastLines,
  pickBackup,
  streamIntoHost,
} from './restore.js';

/**
 * The checks around a file restore, for a runbook's pre- and post-checks: is the target folder
 * empty (so a restore never lands over live files unasked), and does the restored tree hold
 * exactly the backup's bytes. The second is `tar --compare` on the host against the archive,
 * whose sha256 is checked against the manifest as it streams: every file's contents, size, mode,
 * owner and mtime are compared with the archive, so the chain manifest → archive → files is
 * checked.
 */

export interface TargetState {
  target: string;
  /** Entries directly in the folder (0 when it does not exist). */
  entries: number;
  exists: boolean;
}

export async function restoreTargetState(
  transport: Transport,
  targetDir: string,
  options: { sudo?: boolean | undefined; signal?: AbortSignal | undefined } = {},
): Promise<TargetState> {
  checkTarget(targetDir);
  const t = quoteShellArg(targetDir);
  const result = await transport.exec({
    command: `if [ -d ${t} ]; then echo "dir $(ls -A ${t} | wc -l)"; elif [ -e ${t} ]; then echo other; else echo none; fi`,
    sudo: options.sudo,
    signal: options.signal,
    timeoutMs: 60_000,
  });
  const m = /^(dir (\d+)|other|none)$/.exec(result.stdout.trim());
  if (result.exitCode !== 0 || !m)
    throw new backupErrors.WorkFailedError(
      'RESTORE_FAILED',
      `could not look into ${targetDir} on ${transport.host}: ${result.stderr.trim()}`,
      { host: transport.host },
    );
  if (m[1] === 'other')
    throw new backupErrors.WorkFailedError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${targetDir} on ${transport.host} exists and is not a folder: choose another target`,
      { host: transport.host },
    );
  return { target: targetDir, exists: m[1] !== 'none', entries: Number(m[2] ?? 0) };
}

export interface RestoredFilesCheck {
  backupId: string;
  target: string;
  /** `tar --compare` lines: `path: Contents differ`, `path: Warning: Cannot stat…`, … */
  differences: string[];
}

/**
 * Compares a restored folder with the backup's archive: the archive streams into `tar --compare`
 * on the host while the runner hashes it; an archive that does not match its manifest is
 * BACKUP_CORRUPT, whatever tar said.
 */
export async function compareRestoredFiles(request: {
  transport: Transport;
  repository: string;
  backup: BackupSelector;
  targetDir: string;
  sudo?: boolean | undefined;
  signal?: AbortSignal | undefined;
}): Promise<RestoredFilesCheck> {
  checkTarget(request.targetDir);
  const entry = await pickBackup(request.repository, request.backup, 'files');
  const source = await openArchiveSource(entry);
  const stdout: Buffer[] = [];
  const result = await streamIntoHost(request.transport, source, {
    command: `tar -C "$OPSBOOK_RESTORE_TARGET" --compare --file=- $OPSBOOK_TAR_DECOMPRESS`,
    env: {
      OPSBOOK_RESTORE_TARGET: request.targetDir,
      OPSBOOK_TAR_DECOMPRESS: decompressFlag(source.archive),
    },
    sudo: request.sudo,
    signal: request.signal,
    stdout,
  });
  const corrupt = source.verdict() === 'match' ? undefined : await source.corruption();
  if (corrupt) throw corrupt;
  // tar exits 1 when files differ (listed on stdout), 2 on trouble (unreadable archive, …).
  if (result.exitCode !== 0 && result.exitCode !== 1)
    throw new backupErrors.WorkFailedError(
      'RESTORE_FAILED',
      `tar --compare of ${entry.id} with ${request.targetDir} on ${request.transport.host} failed: ${lastLines(result.stderr)}`,
      { backupId: entry.id, host: request.transport.host },
    );
  let differences = `${Buffer.concat(stdout).toString('utf8')}\n${result.stderr}`
    .split('\n')
    .map((l) => l.replace(/^tar: /, '').trim())
    .filter((l) => l.length > 0 && !/^Exiting with failure status/.test(l));
  if (result.exitCode === 1 && !differences.length)
    differences = ['tar --compare reported a difference without naming it'];
  return { backupId: entry.id, target: request.targetDir, differences };
}
