import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { quoteShellArg, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { hashFile } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { BackupEntry } from './repository.js';

/**
 * Off-host copies: a backup that lives only on the runner's disk dies with that disk. A copy goes
 * to another machine over SSH (the exec package's transport: strict known_hosts, the runner's
 * keys), into a folder laid out like a repository (`<path>/backups/<id>/`), so that the copy can be
 * brought back and restored with the same tools. Each copy is written under `<path>/staging/`,
 * hashed *on the destination* against the local manifest, and only then renamed into `backups/`:
 * a copy in `backups/` was complete and matched when it was made.
 */

/** Where copies go: `[user@]host[:port]` (or an alias of ~/.ssh/config) and an absolute folder. */
export interface CopyDestination {
  /** `[user@]host[:port]`, `[user@][v6addr]:port`, or a ~/.ssh/config alias. */
  to: string;
  path: string;
}

/** How the SSH transport is asked for: what `connectSsh` of @opsbook/exec takes as its target. */
export interface CopyTarget {
  name: string;
  host?: string;
  port?: number;
  user?: string;
}

export interface OffHostCopyRequest {
  /** The destination's transport (opened by the caller with `parseCopyTarget(to)`). */
  transport: Transport;
  destination: CopyDestination;
  /** Backups to copy now (e.g. the ones this run made). */
  copy: readonly BackupEntry[];
  /** Backups whose existing copies are re-hashed against their local manifest. */
  recheck?: readonly BackupEntry[];
  signal?: AbortSignal | undefined;
}

export interface CopyCheck {
  backupId: string;
  /** `copied` now, `checked` an earlier copy, `missing` an earlier copy that is not there. */
  action: 'copied' | 'checked' | 'missing';
  ok: boolean;
  /** Files whose sha256 or size on the destination differ from the manifest. */
  mismatches: string[];
  remoteDir: string;
}

export interface OffHostCopyReport {
  destination: string;
  ok: boolean;
  checks: CopyCheck[];
}

/** Parses `[user@]host[:port]`; a bare word is a ~/.ssh/config alias (or a host name). */
export function parseCopyTarget(to: string): CopyTarget {
  const m = /^(?:([A-Za-z0-9_.-]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?$/.exec(
    to,
  );
  if (!m) {
    throw new UsageError(
      `copy destination '${to}' is not [user@]host[:port]: e.g. backup@vault.example.com:22 or an alias of ~/.ssh/config`,
    );
  }
  const [, user, rawHost, port] = m;
  const host = rawHost!.replace(/^\[|\]$/g, '');
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    throw new UsageError(`copy destination '${to}': port ${port} is not 1-65535`);
  // A bare name may be an ssh config alias: let the config resolve it, as `ssh NAME` would.
  const bare = user === undefined && port === undefined;
  return {
    name: to,
    ...(bare ? {} : { host }),
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(user !== undefined ? { user } : {}),
  };
}

export function checkCopyPath(folder: string): void {
  if (!folder.startsWith('/') || folder.split('/').includes('..') || folder.includes('\n'))
    throw new UsageError(`copy path ${folder} must be an absolute folder without '..'`);
}

/** Copies each backup, then re-hashes the earlier copies; never touches the local repository. */
export async function copyOffHost(request: OffHostCopyRequest): Promise<OffHostCopyReport> {
  checkCopyPath(request.destination.path);
  const checks: CopyCheck[] = [];
  for (const entry of request.copy) checks.push(await copyOne(request, entry));
  const copied = new Set(request.copy.map((b) => b.id));
  for (const entry of request.recheck ?? []) {
    if (copied.has(entry.id)) continue;
    checks.push(await recheckOne(request, entry));
  }
  return {
    destination: `${request.destination.to}:${request.destination.path}`,
    ok: checks.every((c) => c.ok),
    checks,
  };
}

async function copyOne(request: OffHostCopyRequest, entry: BackupEntry): Promise<CopyCheck> {
  const { transport, signal } = request;
  const root = request.destination.path;
  const finalDir = `${root}/backups/${entry.id}`;
  // The local bytes must match the manifest before they are worth copying.
  for (const a of entry.manifest.archives) {
    const actual = await hashFile(path.join(entry.dir, a.name)).catch(() => undefined);
    if (!actual || actual.sha256 !== a.sha256 || actual.size !== a.size)
      throw new backupErrors.WorkFailedError(
        'BACKUP_CORRUPT',
        `backup ${entry.id}: the local ${a.name} does not match its manifest; nothing was copied: run opsbook backup verify`,
        { backupId: entry.id },
      );
  }
  const stagingDir = `${root}/staging/${entry.id}.${randomBytes(4).toString('hex')}`;
  await remote(
    transport,
    `mkdir -p ${q(stagingDir)} ${q(`${root}/backups`)} && chmod 700 ${q(stagingDir)}`,
    `could not make ${stagingDir}`,
    signal,
  );
  try {
    for (const name of [...entry.manifest.archives.map((a) => a.name), 'manifest.json'])
      await transport.copyFile(path.join(entry.dir, name), `${stagingDir}/${name}`, {
        mode: 0o600,
        ...(signal ? { signal } : {}),
      });
    const mismatches = await remoteMismatches(transport, stagingDir, entry, signal);
    if (mismatches.length) {
      return {
        backupId: entry.id,
        action: 'copied',
        ok: false,
        mismatches,
        remoteDir: stagingDir,
      };
    }
    // A copy of the same backup made earlier is replaced: this one was just checked.
    await remote(
      transport,
      `rm -rf ${q(finalDir)} && mv ${q(stagingDir)} ${q(finalDir)}`,
      `could not publish the copy in ${finalDir}`,
      signal,
    );
    return { backupId: entry.id, action: 'copied', ok: true, mismatches: [], remoteDir: finalDir };
  } finally {
    await transport
      .exec({ command: `rm -rf ${q(stagingDir)}`, timeoutMs: 60_000 })
      .catch(() => undefined);
  }
}

async function recheckOne(request: OffHostCopyRequest, entry: BackupEntry): Promise<CopyCheck> {
  const dir = `${request.destination.path}/backups/${entry.id}`;
  const present = await request.transport.exec({
    command: `test -d ${q(dir)}`,
    timeoutMs: 60_000,
    signal: request.signal,
  });
  if (present.exitCode !== 0)
    return { backupId: entry.id, action: 'missing', ok: true, mismatches: [], remoteDir: dir };
  const mismatches = await remoteMismatches(request.transport, dir, entry, request.signal);
  return {
    backupId: entry.id,
    action: 'checked',
    ok: mismatches.length === 0,
    mismatches,
    remoteDir: dir,
  };
}

/** Hashes the copy's archives on the destination; names every file that differs from the manifest. */
async function remoteMismatches(
  transport: Transport,
  dir: string,
  entry: BackupEntry,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const names = entry.manifest.archives.map((a) => a.name);
  const result = await transport.exec({
    // Names come from the manifest (checked against a safe pattern); quoted all the same.
    command: `cd ${q(dir)} && for f in ${names.map((n) => q(n)).join(' ')}; do if [ -f "$f" ]; then printf '%s %s ' "$f" "$(wc -c < "$f")"; sha256sum < "$f"; else printf '%s missing\\n' "$f"; fi; done`,
    timeoutMs: 6 * 60 * 60 * 1000,
    signal,
  });
  if (result.exitCode !== 0)
    throw new backupErrors.WorkFailedError(
      'BACKUP_COPY_FAILED',
      `could not hash the copy of ${entry.id} in ${dir} on ${transport.host}: ${tail(result.stderr)}`,
      { backupId: entry.id, host: transport.host },
    );
  const seen = new Map<string, { size: number; sha256: string } | undefined>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(\S+) (?:missing|(\d+) ([0-9a-f]{64})\b.*)$/.exec(line.trim());
    if (m) seen.set(m[1]!, m[2] ? { size: Number(m[2]), sha256: m[3]! } : undefined);
  }
  return entry.manifest.archives
    .filter((a) => {
      const got = seen.get(a.name);
      return !got || got.size !== a.size || got.sha256 !== a.sha256;
    })
    .map((a) => a.name);
}

async function remote(
  transport: Transport,
  command: string,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const result = await transport.exec({ command, timeoutMs: 60_000, signal });
  if (result.exitCode !== 0)
    throw new backupErrors.WorkFailedError(
      'BACKUP_COPY_FAILED',
      `${what} on ${transport.host}: ${tail(result.stderr)}; the local backup is kept`,
      { host: transport.host },
    );
}

const q = quoteShellArg;
const tail = (text: string) => text.trim().split('\n').slice(-3).join(' | ');
