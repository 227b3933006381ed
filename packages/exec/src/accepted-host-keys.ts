import { type HostKeyVerdict, hostKeyFingerprint, knownHostsName } from './known-hosts.js';

/**
 * The host keys this process accepted as new (`--accept-new-host-keys`), by known_hosts file and
 * host:port. A connection checks the known_hosts it read when it started; another one to the
 * same host:port that read it before the first added its line (two inventory names for one
 * host, connections opened together, a worker's next shard) would take a different key as new
 * again, and a re-key within a connection is checked against that same reading. Remembered
 * here the moment a key is accepted, so that a later different key for that host:port is
 * refused as changed.
 */
const accepted = new Map<string, { blob: Buffer; fingerprint: string }>();

const entryOf = (file: string, host: string, port: number) =>
  `${file}\0${knownHostsName(host, port)}`;

/**
 * A known_hosts verdict of `unknown`, checked against the keys accepted as new in this process:
 * `changed` when another key was accepted for the host:port. Only ever narrows: a key accepted
 * here is still accepted only as new (with accept-new), never matched.
 */
export function checkAcceptedHostKey(
  verdict: HostKeyVerdict,
  file: string,
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyVerdict {
  if (verdict.status !== 'unknown') return verdict;
  const earlier = accepted.get(entryOf(file, host, port));
  if (!earlier || earlier.blob.equals(keyBlob)) return verdict;
  return {
    status: 'changed',
    fingerprint: verdict.fingerprint,
    knownFingerprints: [earlier.fingerprint],
    lines: [],
  };
}

/** Remembers a key accepted as new for `host:port` (the first one stays). */
export function rememberAcceptedHostKey(
  file: string,
  host: string,
  port: number,
  keyBlob: Buffer,
): void {
  const entry = entryOf(file, host, port);
  if (!accepted.has(entry))
    accepted.set(entry, { blob: Buffer.from(keyBlob), fingerprint: hostKeyFingerprint(keyBlob) });
}
