import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  childrenOf,
  findFreePort,
  resumeAll,
  type Sshd,
  startSshd,
  startSshdHosts,
  stopAll,
} from '@opsbook/testkit/sshd';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execStreamOverSsh } from '../src/exec-stream.js';
import {
  connectSsh,
  hostKeyFingerprint,
  paramEnv,
  renderRunTemplate,
  type SshTarget,
  type Transport,
} from '../src/index.js';

const execFileAsync = promisify(execFile);

let hosts: Sshd[] = [];
let knownHosts = '';
const opened: Transport[] = [];

const target = (h: Sshd, name = h.host): SshTarget => ({
  name,
  host: h.host,
  port: h.port,
  user: h.user,
  identityFile: h.clientKeyPath,
});
async function connect(
  h: Sshd,
  options: { knownHostsFile?: string; acceptNewHostKeys?: boolean } = {},
): Promise<Transport> {
  const t = await connectSsh(target(h), { knownHostsFile: knownHosts, ...options });
  opened.push(t);
  return t;
}
function fingerprintOf(h: Sshd): string {
  return hostKeyFingerprint(Buffer.from(h.hostPublicKey.split(' ')[1] ?? '', 'base64'));
}
/** Polls a condition a bounded number of times (no wall-clock assertion: it only waits). */
async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  hosts = await startSshdHosts(3);
  knownHosts = path.join(hosts[0]?.dir ?? '', 'known_hosts');
  await writeFile(knownHosts, hosts.map((h) => `${h.knownHostsLine}\n`).join(''));
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await Promise.all(hosts.map((h) => h.dispose()));
});

describe('SSH transport against real sshd hosts', () => {
  it('runs commands on several hosts over one reused connection each, streaming output', async () => {
    for (const h of hosts) {
      const before = h.countLogins();
      const t = await connect(h);
      const chunks: string[] = [];
      const first = await t.exec({
        command: 'echo out; echo err >&2; exit 7',
        onStdout: (c) => chunks.push(c),
      });
      expect(first).toMatchObject({
        exitCode: 0 + 7,
        stdout: 'out\n',
        stderr: 'err\n',
        timedOut: false,
      });
      expect(chunks.join('')).toBe('out\n');
      const second = await t.exec({
        command: renderRunTemplate('printf %s {{ host.name }}', {
          params: {},
          host: { name: h.host, vars: {} },
        }),
      });
      expect(second.stdout).toBe(h.host);
      await t.exec({ command: 'true' });
      expect(h.countLogins() - before).toBe(1);
    }
  });

  it('runs consecutive commands through one step session; sudo and overlapping commands get channels of their own', async () => {
    const t = await connect(hosts[1] as Sshd);
    // The command's parent is its subshell; the subshell's parent is the session script.
    const script = 'ps -o ppid= -p $PPID | tr -d " "';
    const first = (await t.exec({ command: script })).stdout;
    expect(first).toMatch(/^\d+\n$/);
    expect((await t.exec({ command: script, env: { X: 'y' } })).stdout).toBe(first);
    expect((await t.exec({ command: script, sudo: true })).stdout).not.toBe(first);
    const [slow, quick] = await Promise.all([
      t.exec({ command: `sleep 0.2; ${script}` }),
      t.exec({ command: script }),
    ]);
    expect(slow.stdout).toBe(first);
    expect(quick.stdout).toMatch(/^\d+\n$/);
    expect(quick.stdout).not.toBe(first);
  });

  it('lets processes steps deliberately left running (nohup … &) outlive the clean end of their connections, as after an SSH session', async () => {
    // Several connections ending at once: ending one before sshd passed `exit 0` on to its step
    // session made the session take the EOF for an abort and kill its process group.
    const h = hosts[2] as Sshd;
    const pids = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const t = await connectSsh(target(h), { knownHostsFile: knownHosts });
        const started = await t.exec({
          command: 'nohup sleep 600 >/dev/null 2>&1 </dev/null & echo $!',
        });
        await t.close();
        return Number(started.stdout.trim());
      }),
    );
    // The testkit's hosts are this machine: the pids are checked here, and the sleepers stopped here.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      expect(pids.every((pid) => pid > 1)).toBe(true);
      // sshd ends each session a moment after its client left; give it that moment, bounded.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 50));
      expect(pids.filter((pid) => !alive(pid))).toEqual([]);
    } finally {
      for (const pid of pids) if (pid > 1 && alive(pid)) process.kill(pid, 'SIGTERM');
    }
  });

  it('refuses a host whose key is unknown, naming host, port and fingerprint; runs nothing', async () => {
    const h = hosts[0] as Sshd;
    const empty = path.join(h.dir, 'empty_known_hosts');
    await writeFile(empty, '');
    const error = await connect(h, { knownHostsFile: empty }).catch((e) => e);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'HOST_KEY_UNKNOWN' });
    expect(error.message).toContain(`${h.host} port ${h.port}`);
    expect(error.message).toContain(fingerprintOf(h));
    expect(error.details.fingerprint).toBe(fingerprintOf(h));
    expect(await readFile(empty, 'utf8')).toBe('');
  });

  it('tells how to add an unknown host key: the ssh-keyscan commands it prints work as printed', async () => {
    const h = hosts[0] as Sshd;
    const file = path.join(h.dir, 'keyscan_known_hosts');
    await writeFile(file, '');
    const error = await connect(h, { knownHostsFile: file }).catch((e) => e);
    expect(error).toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
    const check = /\((ssh-keyscan [^|]+\| ssh-keygen -lf -) shows/.exec(error.message)?.[1];
    const add = new RegExp(`: (ssh-keyscan -p ${h.port} ${h.host} >> ${file}),`).exec(
      error.message,
    )?.[1];
    expect(check, error.message).toBeDefined();
    expect(add, error.message).toBeDefined();
    // The check shows the fingerprint the refusal named; the add makes the host known.
    const shown = await execFileAsync('sh', ['-c', check as string]);
    expect(shown.stdout).toContain(fingerprintOf(h));
    await execFileAsync('sh', ['-c', add as string]);
    const t = await connect(h, { knownHostsFile: file });
    expect((await t.exec({ command: 'echo ok' })).stdout).toBe('ok\n');
  });

  it('with acceptNewHostKeys adds an unknown key (accept-new) and then trusts it strictly', async () => {
    const h = hosts[1] as Sshd;
    const file = path.join(h.dir, 'accept_known_hosts');
    await writeFile(file, '');
    const t = await connect(h, { knownHostsFile: file, acceptNewHostKeys: true });
    expect((await t.exec({ command: 'echo ok' })).stdout).toBe('ok\n');
    expect(await readFile(file, 'utf8')).toBe(`${h.knownHostsLine}\n`);
    const again = await connect(h, { knownHostsFile: file });
    expect((await again.exec({ command: 'echo again' })).stdout).toBe('again\n');
  });

  it('refuses a host whose key changed, even with acceptNewHostKeys, and nothing runs there', async () => {
    const h = await startSshd({ address: '127.0.0.6' });
    try {
      const file = path.join(h.dir, 'kh');
      await writeFile(file, `${h.knownHostsLine}\n`);
      const oldFingerprint = fingerprintOf(h);
      await h.restart({ newHostKey: true });
      const marker = path.join(h.dir, 'marker');
      for (const acceptNewHostKeys of [false, true]) {
        const error = await connectSsh(target(h), { knownHostsFile: file, acceptNewHostKeys })
          .then((t) => t.exec({ command: `touch ${marker}` }))
          .catch((e) => e);
        expect(error).toMatchObject({ kind: 'unreachable', code: 'HOST_KEY_CHANGED' });
        expect(error.message).toContain(fingerprintOf(h));
        expect(error.message).toContain(oldFingerprint);
        expect(error.message).toContain(`port ${h.port}`);
      }
      expect(existsSync(marker)).toBe(false);
      expect(await readFile(file, 'utf8')).not.toContain(h.hostPublicKey);
    } finally {
      await h.dispose();
    }
  });

  it("checks the machine's pinned known_hosts (root's) for every host it lists, over the user's file and accept-new", async () => {
    const h = hosts[2] as Sshd;
    const other = hosts[0] as Sshd;
    const hostField = h.knownHostsLine.split(' ')[0]!;
    const right = path.join(h.dir, 'pin_right');
    const wrong = path.join(h.dir, 'pin_wrong');
    const empty = path.join(h.dir, 'user_empty');
    await writeFile(right, `${h.knownHostsLine}\n`);
    await writeFile(wrong, `${hostField} ${other.hostPublicKey}\n`);
    await writeFile(empty, '');
    const via = (knownHostsFile: string, globalKnownHostsFile: string, acceptNewHostKeys = false) =>
      connectSsh(target(h), { knownHostsFile, globalKnownHostsFile, acceptNewHostKeys });
    // Pinned: trusted though the user's file does not list it.
    const t = await via(empty, right);
    opened.push(t);
    expect((await t.exec({ command: 'echo pinned' })).stdout).toBe('pinned\n');
    // The pin lists another key: refused, though the user's file (or accept-new) would take it.
    for (const [user, acceptNew] of [
      [knownHosts, false],
      [empty, true],
    ] as const) {
      const error = await via(user, wrong, acceptNew).catch((e) => e);
      expect(error).toMatchObject({ kind: 'unreachable', code: 'HOST_KEY_CHANGED' });
      expect(error.message).toContain(wrong);
      expect(error.message).toContain(fingerprintOf(h));
    }
    expect(await readFile(empty, 'utf8')).toBe('');
    // A pin that does not list the host leaves it to the user's file.
    const t2 = await via(knownHosts, path.join(h.dir, 'no_such_pin'));
    opened.push(t2);
    expect((await t2.exec({ command: 'echo user' })).stdout).toBe('user\n');
  });

  it('calls a host whose key file cannot be read unreachable (no login possible), naming the file', async () => {
    const h = hosts[0] as Sshd;
    const missing = path.join(h.dir, 'no_such_key');
    const error = await connectSsh(
      { ...target(h), identityFile: missing },
      { knownHostsFile: knownHosts },
    ).catch((e) => e);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'SSH_NO_CREDENTIALS' });
    expect(error.message).toContain(missing);
  });

  it('reports a host that refuses connections as unreachable', async () => {
    const port = await findFreePort('127.0.0.7');
    const error = await connectSsh(
      { name: 'down', host: '127.0.0.7', port, identityFile: hosts[0]?.clientKeyPath },
      { knownHostsFile: knownHosts },
    ).catch((e) => e);
    expect(error).toMatchObject({
      kind: 'unreachable',
      code: 'SSH_CONNECTION_REFUSED',
      details: { host: 'down', port },
    });
  });

  it('gives up on a host that accepts TCP but never speaks SSH (connect timeout)', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.8', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await connectSsh(
        { name: 'silent', host: '127.0.0.8', port, identityFile: hosts[0]?.clientKeyPath },
        { knownHostsFile: knownHosts, connectTimeoutMs: 300 },
      ).catch((e) => e);
      expect(error).toMatchObject({ kind: 'unreachable', code: 'SSH_CONNECT_TIMEOUT' });
      expect(error.message).toContain('within 0.3 s'); // the configured timeout, named
    } finally {
      silent.close();
    }
  });

  it("gives a host that answered its banner in time the rest of the handshake beyond the connect timeout (OpenSSH's ConnectTimeout)", async () => {
    // A host slow after its banner, as a busy machine is during key exchange: a proxy in front
    // of a real sshd passes the banner at once and holds every later answer 400 ms.
    const h = hosts[1] as Sshd;
    const proxy = await slowAfterBannerProxy(h, 400);
    const known = path.join(h.dir, 'proxy_known_hosts');
    await writeFile(known, `[127.0.0.1]:${proxy.port} ${h.hostPublicKey}\n`);
    try {
      const t = await connectSsh(
        { ...target(h), host: '127.0.0.1', port: proxy.port },
        { knownHostsFile: known, connectTimeoutMs: 300 },
      );
      opened.push(t);
      expect((await t.exec({ command: 'echo through' })).stdout).toBe('through\n');
      // The same host with a handshake guard shorter than its key exchange: refused, and said so.
      const error = await connectSsh(
        { ...target(h), host: '127.0.0.1', port: proxy.port },
        { knownHostsFile: known, connectTimeoutMs: 300, handshakeTimeoutMs: 500 },
      ).catch((e) => e);
      expect(error).toMatchObject({ kind: 'unreachable', code: 'SSH_CONNECT_TIMEOUT' });
      expect(error.message).toContain(
        'answered but did not complete the SSH key exchange and authentication within 0.5 s more',
      );
    } finally {
      proxy.close();
    }
  });

  it('reports refused authentication with its own code', async () => {
    const h = hosts[0] as Sshd;
    const error = await connectSsh(
      { ...target(h), user: 'nobody' },
      { knownHostsFile: knownHosts },
    ).catch((e) => e);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'SSH_AUTH_REFUSED' });
  });

  it('kills a command that exceeds its timeout, with its children, and the connection stays usable', async () => {
    const t = await connect(hosts[0] as Sshd);
    const tag = `opsbook-timeout-${process.pid}`;
    const result = await t.exec({
      // Durations no other test uses: the check below looks at every process of the machine
      // (written as a bracket pattern, so that it does not match the shell that runs pgrep).
      command: `sh -c 'sleep 2971; echo ${tag}' & sleep 2972; echo never`,
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, stdout: '' });
    await waitFor(
      async () => (await t.exec({ command: `pgrep -f 'sleep 297[12]' || true` })).stdout === '',
      'the timed-out command to die',
    );
  });

  it('cancels a running command through its AbortSignal', async () => {
    const t = await connect(hosts[1] as Sshd);
    const controller = new AbortController();
    const running = t.exec({
      command: 'echo started; sleep 2973',
      signal: controller.signal,
      onStdout: () => controller.abort(),
    });
    await expect(running).rejects.toMatchObject({ kind: 'interrupted' });
    await waitFor(
      async () => (await t.exec({ command: `pgrep -f 'sleep 297[3]' || true` })).stdout === '',
      'the cancelled command to die',
    );
  });

  it('reports a lost connection when sshd is killed mid-command', async () => {
    const h = await startSshd({ address: '127.0.0.9' });
    try {
      const file = path.join(h.dir, 'kh');
      await writeFile(file, `${h.knownHostsLine}\n`);
      const t = await connectSsh(target(h), { knownHostsFile: file, keepaliveIntervalMs: 200 });
      const started = path.join(h.dir, 'started');
      // Settled into a value at once: the rejection arrives while we are still killing sshd.
      const outcome = t.exec({ command: `touch ${started}; sleep 303` }).catch((e: unknown) => e);
      await waitFor(() => existsSync(started), 'the command to start');
      await h.kill();
      expect(await outcome).toMatchObject({ kind: 'unreachable', code: 'SSH_CONNECTION_LOST' });
      await expect(t.exec({ command: 'true' })).rejects.toMatchObject({
        code: 'SSH_CONNECTION_LOST',
      });
    } finally {
      await h.dispose();
    }
  });

  it('reports a host that froze (its sshd stopped, TCP still open) as a lost connection once keepalive gives up, not as "Not connected"', async () => {
    const h = await startSshd({ address: '127.0.0.9' });
    // The connection's own sshd process (a child of the listener): SIGSTOP freezes it as a hung
    // machine would, with the kernel still holding the TCP connection open.
    let frozen: number[] = [];
    try {
      const file = path.join(h.dir, 'kh');
      await writeFile(file, `${h.knownHostsLine}\n`);
      const t = await connectSsh(target(h), { knownHostsFile: file, keepaliveIntervalMs: 200 });
      frozen = stopAll(childrenOf(h.pid));
      expect(frozen.length).toBeGreaterThan(0);
      // Its channel cannot open: the keepalive ends the connection while the command waits.
      await expect(t.exec({ command: 'true', timeoutMs: 600_000 })).rejects.toMatchObject({
        kind: 'unreachable',
        code: 'SSH_CONNECTION_LOST',
        message: expect.stringContaining('the SSH connection was lost'),
      });
      await t.close();
    } finally {
      resumeAll(frozen);
      await h.dispose();
    }
  });

  it('fails a streamed command that meets a connection ssh2 has just torn down (before its close event) as lost, and ends its stdout', async () => {
    // What a keepalive that gave up on a frozen host leaves: ssh2 destroys the socket at once,
    // and emits 'close' only later; a command asked for in between makes ssh2 throw.
    const h = hosts[0] as Sshd;
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: h.host,
        port: h.port,
        username: h.user,
        privateKey: readFileSync(h.clientKeyPath),
        hostVerifier: () => true,
      });
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.destroy();
    const stream = execStreamOverSsh(client, 'frozen', { host: 'frozen' }, { command: 'true' });
    const read = (async () => {
      for await (const _ of stream.stdout);
    })().catch((e: unknown) => e);
    expect(await stream.done.catch((e: unknown) => e)).toMatchObject({
      kind: 'unreachable',
      code: 'SSH_CONNECTION_LOST',
    });
    expect(await read).toMatchObject({ code: 'SSH_CONNECTION_LOST' });
    await closed;
  });

  it('refuses a command after close as closed, not lost, also once the connection has gone', async () => {
    const t = await connect(hosts[1] as Sshd);
    expect((await t.exec({ command: 'echo before' })).stdout).toBe('before\n');
    await t.close();
    await expect(t.exec({ command: 'true' })).rejects.toMatchObject({
      kind: 'unreachable',
      code: 'SSH_CONNECTION_CLOSED',
    });
    await new Promise((r) => setTimeout(r, 200)); // the socket's close arrives meanwhile
    await expect(t.exec({ command: 'true' })).rejects.toMatchObject({
      code: 'SSH_CONNECTION_CLOSED',
    });
  });

  it('runs sudo as sudo -n, and secrets still reach the command', async () => {
    const t = await connect(hosts[2] as Sshd);
    const result = await t.exec({
      command: 'id -u; printf %s "$SUDO_COMMAND" | head -c 9; echo; printf %s "$OPSBOOK_PARAM_T"',
      sudo: true,
      env: paramEnv({ t: "s3cr'et" }),
    });
    expect(result.stdout).toBe("0\n/usr/bin/\ns3cr'et");
  });

  it('keeps a secret off every command line (ps) and out of the output while the command runs', async () => {
    const h = hosts[2] as Sshd;
    const t = await connect(h);
    const secret = `tok-${process.pid}-S3CRET`;
    const release = path.join(h.dir, 'release');
    await rm(release, { force: true });
    const command = renderRunTemplate(
      `printf %s {{ params.token }} | sha256sum; while [ ! -e ${release} ]; do sleep 0.05; done; echo opsbook-ps-probe`,
      { params: { token: secret }, secretParams: ['token'], host: { name: h.host, vars: {} } },
    );
    expect(command).not.toContain(secret);
    const running = t.exec({ command, env: paramEnv({ token: secret }) });
    const observer = await connect(h);
    let ps = '';
    await waitFor(async () => {
      ps = (await observer.exec({ command: 'ps -eo pid,args ww' })).stdout;
      return ps.includes(`while [ ! -e ${release} ]`);
    }, 'the command to show up in ps');
    await writeFile(release, '');
    const result = await running;
    expect(ps).not.toContain(secret);
    expect(result.stdout).toMatch(/^[0-9a-f]{64} {2}-\nopsbook-ps-probe\n$/);
    expect(result.stdout + result.stderr).not.toContain(secret);
    const { createHash } = await import('node:crypto');
    expect(result.stdout.slice(0, 64)).toBe(createHash('sha256').update(secret).digest('hex'));
  });

  it('copies a script to the host and runs it with params as environment', async () => {
    const h = hosts[0] as Sshd;
    const t = await connect(h);
    const local = path.join(h.dir, 'script.sh');
    await writeFile(local, '#!/bin/sh\nprintf "%s" "$OPSBOOK_PARAM_PATH"\n');
    const remote = path.join(h.dir, 'copied-script.sh');
    await t.copyFile(local, remote, { mode: 0o700 });
    const result = await t.exec({ command: remote, env: paramEnv({ path: '/var/log/$(id)' }) });
    expect(result.stdout).toBe('/var/log/$(id)');
  });

  it('reaches a host through a ProxyJump host, verifying both host keys', async () => {
    const [jump, dest] = hosts as [Sshd, Sshd];
    const config = `Host jumphost\n  HostName ${jump.host}\n  Port ${jump.port}\n  User ${jump.user}\n  IdentityFile ${jump.clientKeyPath}\n`;
    const [jumpBefore, destBefore] = [jump.countLogins(), dest.countLogins()];
    const t = await connectSsh(
      { ...target(dest, 'behind-jump'), proxyJump: 'jumphost' },
      { knownHostsFile: knownHosts, sshConfigText: config },
    );
    opened.push(t);
    expect((await t.exec({ command: 'echo "$SSH_CONNECTION"' })).stdout).toMatch(
      / 127\.0\.0\.3 \d+\n$/,
    );
    expect([jump.countLogins() - jumpBefore, dest.countLogins() - destBefore]).toEqual([1, 1]);
    // The route taken, jump host included, for the runner to journal.
    expect(t.route).toEqual({
      address: dest.host,
      port: dest.port,
      user: dest.user,
      jumps: [{ address: jump.host, port: jump.port, user: jump.user }],
      fromSshConfig: [],
    });
    const strangerJump = `Host jumphost\n  HostName ${jump.host}\n  Port ${jump.port}\n  IdentityFile ${jump.clientKeyPath}\n`;
    const onlyDest = path.join(dest.dir, 'only_dest_known_hosts');
    await writeFile(onlyDest, `${dest.knownHostsLine}\n`);
    const refused = connectSsh(
      { ...target(dest), proxyJump: 'jumphost' },
      { knownHostsFile: onlyDest, sshConfigText: strangerJump },
    );
    await expect(refused).rejects.toMatchObject({
      code: 'HOST_KEY_UNKNOWN',
      details: { address: jump.host },
    });
  });
});

/**
 * A TCP proxy to `h` that forwards the server's first chunk (its SSH banner) at once and every
 * later chunk `delayMs` after it arrived, in order.
 */
async function slowAfterBannerProxy(h: Sshd, delayMs: number) {
  const { connect } = await import('node:net');
  const server = createServer((client) => {
    const upstream = connect({ host: h.host, port: h.port });
    let first = true;
    let chain = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        client.write(chunk);
        return;
      }
      chain = chain
        .then(() => new Promise((r) => setTimeout(r, delayMs)))
        .then(() => {
          if (!client.destroyed) client.write(chunk);
        });
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}
