import { readFile } from 'node:fs/promises';
import { type KnownHosts, readKnownHosts } from './known-hosts.js';

/**
 * The files every SSH connection of a run reads: identity keys and known_hosts. Reading and
 * parsing them once per run instead of once per host saved a measurable share of a fan-out
 * run's client CPU (BENCHMARKS.md). Make one per run (`createSshFileCache`) and pass it as
 * `SshConnectOptions.fileCache`; a file changed during the run is seen by the next run, except
 * known_hosts lines added by `--accept-new-host-keys`, after which known_hosts is read again.
 */
export interface SshFileCache {
  /** The parsed known_hosts file (empty when it does not exist). */
  knownHosts(file: string): Promise<KnownHosts>;
  /** Forgets the known_hosts file, so the next connection reads it again (after an append). */
  forgetKnownHosts(file: string): void;
  /** The bytes of a private key file, or undefined when it cannot be read. */
  identity(file: string): Promise<Buffer | undefined>;
}

export function createSshFileCache(): SshFileCache {
  const knownHosts = new Map<string, Promise<KnownHosts>>();
  const identities = new Map<string, Promise<Buffer | undefined>>();
  return {
    knownHosts(file) {
      let parsed = knownHosts.get(file);
      if (!parsed) {
        parsed = readKnownHosts(file);
        // A failed read (unreadable file) is not kept: the next connection reports it again.
        parsed.catch(() => knownHosts.delete(file));
        knownHosts.set(file, parsed);
      }
      return parsed;
    },
    forgetKnownHosts(file) {
      knownHosts.delete(file);
    },
    identity(file) {
      let key = identities.get(file);
      if (!key) {
        key = readFile(file).catch(() => undefined);
        identities.set(file, key);
      }
      return key;
    },
  };
}

/** What a connection without a run-wide cache uses: every read goes to the file. */
export const uncachedSshFiles: SshFileCache = {
  knownHosts: readKnownHosts,
  forgetKnownHosts() {},
  identity: (file) => readFile(file).catch(() => undefined),
};
