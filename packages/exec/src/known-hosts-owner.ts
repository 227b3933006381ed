import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { pathWeakness } from '@opsbook/schema';
import { execErrors } from './error-codes.js';

/**
 * A known_hosts file vouches for host keys only when nobody but the user running opsbook and
 * root can change it: the file and every folder above it owned by one of them and writable by no
 * group or other user (OpenSSH's StrictModes rule for authorized_keys, `safe_path`). A folder of
 * root's with the sticky bit (/tmp) is allowed above it, since nobody else can rename what is in
 * it. Otherwise `--config` (or an opsbook.yaml found in a folder the engineer owns) names a file
 * the engineer wrote, and a run under a service account trusts whatever host key they put there.
 * A missing file is judged by its folder, where `--accept-new-host-keys` would create it.
 */
export async function checkKnownHostsOwner(file: string, uid = process.getuid?.()): Promise<void> {
  if (uid === undefined) return; // Windows: no owners to compare
  const real = await realPathOf(path.resolve(file));
  const weak = await pathWeakness(real, [uid, 0]);
  if (!weak) return;
  const why =
    'owner' in weak
      ? `is owned by uid ${weak.owner}`
      : `is writable by its group or by others (mode ${weak.mode.toString(8)})`;
  throw unsafe(file, real, weak.at, why, uid);
}

/** The file's real path, or (missing) its folder's real path and its name. */
async function realPathOf(file: string): Promise<string> {
  const real = await realpath(file).catch(() => undefined);
  if (real) return real;
  const folder = await realpath(path.dirname(file)).catch(() => path.dirname(file));
  return path.join(folder, path.basename(file));
}

function unsafe(file: string, real: string, at: string, why: string, uid: number) {
  const shown = real === path.resolve(file) ? file : `${file} (${real})`;
  return new execErrors.UnreachableError(
    'KNOWN_HOSTS_UNSAFE',
    `the known_hosts file ${shown} is not trusted: ${at} ${why}, so someone other than you (uid ${uid}) or root could choose the host keys it vouches for. No host was connected to. Use a known_hosts file that only you or root can write (chown it and its folders to you or root, chmod go-w), or set knownHosts in opsbook.yaml to one`,
    { knownHostsFile: file, path: at },
  );
}
