import { readFile } from 'node:fs/promises';
import { cachedUnlessRejected } from '@opsbook/schema';
import type { ParsedKey } from 'ssh2';
import { type KnownHosts, readKnownHosts } from './known-hosts.js';
import { parseSshIdentity } from './ssh-identity.js';

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
  /**
   * The private key of a file, parsed (`parseSshIdentity`: once per run, not per host), or its
   * bytes when they do not parse; undefined when the file cannot be read.
   */
  identityKey(file: string, passphrase?: string): Promise<ParsedKey | Buffer | undefined>;
}

export function createSshFileCache(): SshFileCache {
  const knownHosts = new Map<string, Promise<KnownHosts>>();
  const identities = new Map<string, Promise<Buffer | undefined>>();
  const keys = new Map<string, Promise<ParsedKey | Buffer | undefined>>();
  /** The bytes of a key file, read once even when several passphrases are tried on it. */
  const identity = (file: string) =>
    cachedUnlessRejected(identities, file, () => readFile(file).catch(() => undefined));
  return {
    knownHosts(file) {
      // A failed read (unreadable file) is not kept: the next connection reports it again.
      return cachedUnlessRejected(knownHosts, file, readKnownHosts);
    },
    forgetKnownHosts(file) {
      knownHosts.delete(file);
    },
    identityKey(file, passphrase) {
      // Keyed by the passphrase too: the same file read with another one parses differently.
      const id = `${file}\0${passphrase ?? ''}`;
      let key = keys.get(id);
      if (!key) {
        key = identity(file).then((bytes) => bytes && parseSshIdentity(bytes, passphrase));
        keys.set(id, key);
      }
      return key;
    },
  };
}

/** What a connection without a run-wide cache uses: every read goes to the file. */
export const uncachedSshFiles: SshFileCache = {
  knownHosts: readKnownHosts,
  forgetKnownHosts() {},
  identityKey: async (file, passphrase) => {
    const bytes = await readFile(file).catch(() => undefined);
    return bytes && parseSshIdentity(bytes, passphrase);
  },
};
