import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sshd, startSshd, startSshdHosts } from './sshd.js';

/** Runs the real OpenSSH client against an instance, with strict host key checking. */
function ssh(
  sshd: Sshd,
  knownHosts: string,
  command: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    '-p',
    String(sshd.port),
    '-i',
    sshd.clientKeyPath,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'IdentitiesOnly=yes',
    `${sshd.user}@${sshd.host}`,
    command,
  ];
  return new Promise((resolve) => {
    execFile('ssh', args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('startSshd', () => {
  let hosts: Sshd[] = [];
  beforeAll(async () => {
    hosts = await startSshdHosts(2);
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.dispose()));
  });

  it('starts real sshd instances on distinct loopback addresses that accept the client key', async () => {
    expect(hosts.map((h) => h.host)).toEqual(['127.0.0.2', '127.0.0.3']);
    for (const host of hosts) {
      const knownHosts = path.join(host.dir, 'client_known_hosts');
      await writeFile(knownHosts, `${host.knownHostsLine}\n`);
      const result = await ssh(host, knownHosts, 'echo "hello from $(hostname)"');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^hello from /);
    }
    expect(hosts[0]?.countLogins()).toBe(1);
  });

  it('restarts with a new host key that the old known_hosts line no longer matches', async () => {
    const host = hosts[1] as Sshd;
    const knownHosts = path.join(host.dir, 'client_known_hosts_old');
    await writeFile(knownHosts, `${host.knownHostsLine}\n`);
    const oldKey = host.hostPublicKey;
    const port = host.port;
    await host.restart({ newHostKey: true });
    expect(host.port).toBe(port);
    expect(host.hostPublicKey).not.toBe(oldKey);
    const refused = await ssh(host, knownHosts, 'echo should-not-run');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(refused.stdout).toBe('');
  });

  it('kill() ends sshd so that new connections are refused', async () => {
    const host = await startSshd({ address: '127.0.0.4' });
    try {
      const knownHosts = path.join(host.dir, 'kh');
      await writeFile(knownHosts, `${host.knownHostsLine}\n`);
      await host.kill();
      const result = await ssh(host, knownHosts, 'true');
      expect(result.code).toBe(255);
      expect(result.stderr).toMatch(/Connection refused/);
    } finally {
      await host.dispose();
    }
  });

  it('fails with a clear message when sshd is missing (never skips)', async () => {
    await expect(startSshd({ sshdPath: '/nonexistent/sshd' })).rejects.toThrow(
      /install the Debian package openssh-server/,
    );
  });

  it('fails with sshd log output when the config is rejected', async () => {
    await expect(startSshd({ extraConfig: ['NoSuchOption yes'] })).rejects.toThrow(
      /did not start[\s\S]*NoSuchOption/i,
    );
  });
});
