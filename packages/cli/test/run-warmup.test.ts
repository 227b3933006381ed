import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * dist/run.js.cache is V8's code cache of a throwaway run made at build time
 * (scripts/run-warmup.mjs). That run logs into an SSH server of its own
 * (scripts/warmup-ssh-server.mjs), so that the cache holds what a run compiles for hosts that
 * answer; without them a one-host run compiled ~5 ms of CPU more (BENCHMARKS.md, fan-out). The
 * server runs commands as the builder's user while the build lasts: only the warm-up's key may
 * log in.
 */

const execFileAsync = promisify(execFile);
const cli = path.resolve(import.meta.dirname, '..');
const bin = path.join(cli, 'dist', 'bin.js');
/** The part of ssh2 (a dependency of the CLI, as of the warm-up server) these tests use. */
interface Ssh2Channel {
  on(event: 'data', listener: (data: Buffer) => void): void;
  once(event: 'close', listener: () => void): void;
}
interface Ssh2Client {
  once(event: 'error', listener: (error: Error) => void): void;
  once(event: 'ready', listener: () => void): void;
  exec(command: string, callback: (error: Error | undefined, channel: Ssh2Channel) => void): void;
  connect(options: Record<string, unknown>): void;
  end(): void;
}
const { Client, utils } = createRequire(path.join(cli, 'package.json'))('ssh2') as {
  Client: new () => Ssh2Client;
  utils: { parseKey(key: string): Error | { getPublicSSH(): Buffer } };
};

interface Warmup {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  note?: string;
  sshHosts: number;
  sshSessions(): number;
  remove(): Promise<void>;
}
interface WarmupServer {
  port: number;
  hostKey: string;
  sessions(): number;
  stop(): void;
}
interface WarmupModule {
  ed25519KeyPair(): { private: string; public: string };
  prepareRunWarmup(bin: string): Promise<Warmup>;
  startWarmupSshServer(clientKeyLine: string, sessionsFile: string): Promise<WarmupServer>;
}

const warmupModule = (): Promise<WarmupModule> =>
  import(pathToFileURL(path.join(cli, 'scripts', 'run-warmup.mjs')).href);

/** Logs in as `privateKey` and runs `command`: its stdout, or the login's error. */
function login(
  server: WarmupServer,
  privateKey: string,
  command: string,
): Promise<{ stdout?: string; error?: string }> {
  const expected = Buffer.from(server.hostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve) => {
    const client = new Client();
    client.once('error', (e) => resolve({ error: e.message }));
    client.once('ready', () => {
      client.exec(command, (err, channel) => {
        if (err) return resolve({ error: err.message });
        let stdout = '';
        channel.on('data', (d: Buffer) => {
          stdout += d.toString();
        });
        channel.once('close', () => {
          client.end();
          resolve({ stdout });
        });
      });
    });
    client.connect({
      host: '127.0.0.1',
      port: server.port,
      username: 'anyone',
      privateKey,
      hostVerifier: (key: Buffer) => key.equals(expected),
      readyTimeout: 10_000,
    });
  });
}

describe('the code cache warm-up of opsbook run', () => {
  it('runs its steps on the SSH hosts of its own server, and on a local one', async () => {
    const { prepareRunWarmup } = await warmupModule();
    const warmup = await prepareRunWarmup(bin);
    try {
      // The trust pin it makes needs root, as a team's runner has it (README).
      expect(warmup.note).toBeUndefined();
      const run = await execFileAsync(process.execPath, [bin, ...warmup.argv], {
        cwd: warmup.cwd,
        env: warmup.env,
      }).then(
        () => ({ code: 0, stdout: '' }),
        (e: { code: number; stdout: string }) => e,
      );
      // 127.0.0.1 port 1 refuses (exit 4); every other host ran its three steps.
      expect(run.code).toBe(4);
      expect(run.stdout).toContain(`${warmup.sshHosts + 1} of ${warmup.sshHosts + 2} host(s) ok`);
      expect(warmup.sshSessions()).toBe(warmup.sshHosts);
      expect(warmup.sshHosts).toBeGreaterThanOrEqual(10);
    } finally {
      await warmup.remove();
    }
  });

  it('makes Ed25519 keys that ssh2 reads, though its generator drops a leading zero byte', async () => {
    // 1 pair in 256 from ssh2's generateKeyPairSync has a 31-byte public key, which ssh2 itself
    // refuses: the warm-up's server then did not start (a CI run of this test failed so).
    const { ed25519KeyPair } = await warmupModule();
    for (let i = 0; i < 1500; i++) {
      const pair = ed25519KeyPair();
      const pub = utils.parseKey(pair.public);
      const priv = utils.parseKey(pair.private);
      if (pub instanceof Error || priv instanceof Error)
        throw new Error(`pair ${i} does not parse: ${pair.public}`);
      expect(pub.getPublicSSH().equals(priv.getPublicSSH())).toBe(true);
    }
  });

  describe('its SSH server', () => {
    let dir: string;
    let server: WarmupServer;
    let allowed: { private: string; public: string };
    let other: { private: string; public: string };

    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'opsbook-warmup-server-'));
      const { ed25519KeyPair, startWarmupSshServer } = await warmupModule();
      allowed = ed25519KeyPair();
      other = ed25519KeyPair();
      server = await startWarmupSshServer(allowed.public, path.join(dir, 'sessions'));
    });
    afterAll(async () => {
      server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('lets in no key but the one it was given, and runs nothing for it', async () => {
      const refused = await login(server, other.private, `touch ${path.join(dir, 'ran')}`);
      expect(refused.error).toMatch(/authentication methods failed/);
      await expect(readFile(path.join(dir, 'ran'))).rejects.toThrow(/ENOENT/);
      expect(server.sessions()).toBe(0);
    });

    it('runs a command of the key it was given, under /bin/sh', async () => {
      expect(await login(server, allowed.private, 'echo "warm $((20 + 1))"')).toEqual({
        stdout: 'warm 21\n',
      });
      expect(server.sessions()).toBe(1);
    });
  });
});
