import { quoteShellArg, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { backupErrors } from './error-codes.js';
import { type BackupSelector, checkedArchive, pickBackup, withUploaded } from './restore.js';

/**
 * The checks around a file restore, for a runbook's pre- and post-checks: is the target folder
 * empty (so a restore never lands over live files unasked), and does the restored tree hold
 * exactly the backup's bytes. The second is `tar --compare` on the host against the archive,
 * whose sha256 is checked against the manifest first: every file's contents, size, mode, owner
 * and mtime are compared with the archive, so the chain manifest → archive → files is checked.
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

/** Compares a restored folder with the backup's archive (`tar --compare` on the host). */
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
  const archive = await checkedArchive(entry);
  const decompress =
    archive.format === 'tar+zstd' ? ' --zstd' : archive.format === 'tar+gzip' ? ' --gzip' : '';
  let differences: string[] = [];
  await withUploaded(request.transport, entry, archive, request.signal, async (remote) => {
    const result = await request.transport.exec({
      command: `tar -C ${quoteShellArg(request.targetDir)} --compare --file=${quoteShellArg(remote)}${decompress}`,
      sudo: request.sudo,
      signal: request.signal,
      maxCapturedBytes: 16 * 1024 * 1024,
    });
    // tar exits 1 when files differ (listed on stdout), 2 on trouble (unreadable archive, …).
    if (result.exitCode !== 0 && result.exitCode !== 1)
      throw new backupErrors.WorkFailedError(
        'RESTORE_FAILED',
        `tar --compare of ${entry.id} with ${request.targetDir} on ${request.transport.host} failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        { backupId: entry.id, host: request.transport.host },
      );
    differences = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .map((l) => l.replace(/^tar: /, '').trim())
      .filter((l) => l.length > 0 && !/^Exiting with failure status/.test(l));
    if (result.exitCode === 1 && !differences.length)
      differences = ['tar --compare reported a difference without naming it'];
  });
  return { backupId: entry.id, target: request.targetDir, differences };
}

function checkTarget(targetDir: string): void {
  if (!targetDir.startsWith('/') || targetDir.split('/').includes('..'))
    throw new UsageError(`restore target ${targetDir} must be an absolute folder without '..'`);
}
