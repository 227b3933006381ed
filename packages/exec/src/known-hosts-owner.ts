import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
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
  for (let at = real, first = true; ; first = false) {
    const info = await stat(at).catch(() => undefined);
    if (info) {
      const foreignOwner = info.uid !== uid && info.uid !== 0;
      const sharedWrite = (info.mode & 0o022) !== 0;
      const stickyRootFolder =
        !first && info.isDirectory() && info.uid === 0 && (info.mode & 0o1000) !== 0;
      if (foreignOwner || (sharedWrite && !stickyRootFolder))
        throw unsafe(
          file,
          real,
          at,
          foreignOwner
            ? `is owned by uid ${info.uid}`
            : `is writable by its group or by others (mode ${(info.mode & 0o7777).toString(8)})`,
          uid,
        );
    }
    const up = path.dirname(at);
    if (up === at) return;
    at = up;
  }
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
