import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort, type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, loadSshConfig, type Transport } from '../src/index.js';

/*
 * Issue 17 item 7: ~/.ssh/config Port and Include against real sshd on non-default ports, and
 * @cert-authority known_hosts lines against a real sshd serving a HostCertificate.
 */

const run = promisify(execFile);
let plain: Sshd;
let certified: Sshd;
let home = '';
let caPub = '';
const opened: Transport[] = [];

beforeAll(async () => {
  plain = await startSshd({ address: '127.0.0.2' });
  home = path.join(plain.dir, 'home');
  await mkdir(path.join(home, '.ssh/config.d'), { recursive: true });
  const ca = path.join(plain.dir, 'host_ca');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', ca]);
  caPub = (await readFile(`${ca}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  certified = await startSshd({
    address: '127.0.0.3',
    clientKeyPath: plain.clientKeyPath,
    hostCertificate: { caKeyPath: ca, principals: ['certified', '127.0.0.3'] },
  });
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await Promise.all([plain?.dispose(), certified?.dispose()]);
});

async function writeConfig(text: string, includes: Record<string, string> = {}) {
  await writeFile(path.join(home, '.ssh/config'), text);
  for (const [rel, body] of Object.entries(includes))
    await writeFile(path.join(home, '.ssh', rel), body);
  const source = await loadSshConfig(path.join(home, '.ssh/config'), { homeDir: home });
  if (!source) throw new Error('the ssh config just written was not read');
  return source;
}
async function knownHosts(lines: string[]): Promise<string> {
  const file = path.join(home, '.ssh/known_hosts');
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}
async function whoami(t: Transport): Promise<string> {
  opened.push(t);
  return (await t.exec({ command: 'echo "$SSH_CONNECTION"' })).stdout;
}
const hostBlock = (h: Sshd, alias: string, port = h.port) =>
  `Host ${alias}\n  HostName ${h.host}\n  Port ${port}\n  User ${h.user}\n  IdentityFile ${h.clientKeyPath}\n`;

describe('~/.ssh/config against real sshd on non-default ports', () => {
  it('connects on the Port of the ssh config when the inventory gives none', async () => {
    const sshConfig = await writeConfig(hostBlock(plain, 'web'));
    const file = await knownHosts([plain.knownHostsLine]);
    const t = await connectSsh({ name: 'web' }, { knownHostsFile: file, sshConfigText: sshConfig });
    expect(await whoami(t)).toMatch(new RegExp(` 127\\.0\\.0\\.2 ${plain.port}\\n$`));
  });

  it('lets an explicit inventory port win over the ssh config Port', async () => {
    const dead = await findFreePort('127.0.0.2');
    const sshConfig = await writeConfig(hostBlock(plain, 'web', dead));
    const file = await knownHosts([plain.knownHostsLine]);
    const t = await connectSsh(
      { name: 'web', port: plain.port },
      { knownHostsFile: file, sshConfigText: sshConfig },
    );
    expect(await whoami(t)).toMatch(new RegExp(` ${plain.port}\\n$`));
    await expect(
      connectSsh({ name: 'web' }, { knownHostsFile: file, sshConfigText: sshConfig }),
    ).rejects.toMatchObject({ code: 'SSH_CONNECTION_REFUSED', details: { port: dead } });
  });

  it('follows Include (relative to ~/.ssh, a glob) to the host block and its Port', async () => {
    const sshConfig = await writeConfig('Include config.d/*\n', {
      'config.d/web.conf': hostBlock(plain, 'included-web'),
    });
    const file = await knownHosts([plain.knownHostsLine]);
    const t = await connectSsh(
      { name: 'included-web' },
      { knownHostsFile: file, sshConfigText: sshConfig },
    );
    expect(await whoami(t)).toMatch(new RegExp(` ${plain.port}\\n$`));
  });

  it('still refuses a changed host key on the port the ssh config gave', async () => {
    const other = await startSshd({ address: '127.0.0.4', clientKeyPath: plain.clientKeyPath });
    try {
      const sshConfig = await writeConfig('Include other.conf\n', {
        'other.conf': hostBlock(other, 'other'),
      });
      const file = await knownHosts([other.knownHostsLine]);
      await other.restart({ newHostKey: true });
      const before = other.countLogins();
      await expect(
        connectSsh(
          { name: 'other' },
          { knownHostsFile: file, sshConfigText: sshConfig, acceptNewHostKeys: true },
        ),
      ).rejects.toMatchObject({
        code: 'HOST_KEY_CHANGED',
        details: { address: '127.0.0.4', port: other.port },
      });
      expect(other.countLogins()).toBe(before);
    } finally {
      await other.dispose();
    }
  });
});

describe('@cert-authority against a real sshd serving a host certificate', () => {
  const target = () => ({
    name: 'certified',
    host: certified.host,
    port: certified.port,
    user: certified.user,
    identityFile: certified.clientKeyPath,
  });

  it('serves a certificate signed by the CA (OpenSSH ssh-keyscan -c sees it)', async () => {
    const { stdout } = await run('ssh-keyscan', [
      '-c',
      '-p',
      String(certified.port),
      certified.host,
    ]);
    expect(stdout).toContain('ssh-ed25519-cert-v01@openssh.com');
  });

  it('refuses loudly (HOST_CERT_UNSUPPORTED), even with accept-new, and adds nothing', async () => {
    const line = `@cert-authority [127.0.0.3]:${certified.port} ${caPub}`;
    const file = await knownHosts([line]);
    const before = certified.countLogins();
    for (const acceptNewHostKeys of [false, true]) {
      await expect(
        connectSsh(target(), { knownHostsFile: file, acceptNewHostKeys }),
      ).rejects.toMatchObject({
        code: 'HOST_CERT_UNSUPPORTED',
        details: { lines: [1], port: certified.port },
      });
    }
    expect(await readFile(file, 'utf8')).toBe(`${line}\n`);
    expect(certified.countLogins()).toBe(before);
  });

  it('trusts the same host by a plain known_hosts line for its key', async () => {
    const file = await knownHosts([
      `@cert-authority [127.0.0.3]:${certified.port} ${caPub}`,
      certified.knownHostsLine,
    ]);
    expect(await whoami(await connectSsh(target(), { knownHostsFile: file }))).toMatch(
      new RegExp(` ${certified.port}\\n$`),
    );
  });

  it('refuses a @revoked host key even when a CA is listed for the host', async () => {
    const file = await knownHosts([
      `@cert-authority * ${caPub}`,
      `@revoked * ${certified.hostPublicKey}`,
      certified.knownHostsLine,
    ]);
    await expect(connectSsh(target(), { knownHostsFile: file })).rejects.toMatchObject({
      code: 'HOST_KEY_REVOKED',
    });
  });
});
