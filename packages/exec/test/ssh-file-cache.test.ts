import { execFileSync } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, createSshFileCache, type SshTarget, type Transport } from '../src/index.js';

let h: Sshd;
const opened: Transport[] = [];
const target = (identityFile: string): SshTarget => ({
  name: 'cached',
  host: h.host,
  port: h.port,
  user: h.user,
  identityFile,
});

beforeAll(async () => {
  h = await startSshd({ address: '127.0.0.9' });
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await h?.dispose();
});

describe('a run-wide cache of identity files and known_hosts', () => {
  it('reads an identity file once: a second host of the run needs no second read', async () => {
    const key = path.join(h.dir, 'run_key');
    await copyFile(h.clientKeyPath, key);
    const knownHostsFile = path.join(h.dir, 'kh-identity');
    await writeFile(knownHostsFile, `${h.knownHostsLine}\n`);
    const fileCache = createSshFileCache();
    opened.push(await connectSsh(target(key), { knownHostsFile, fileCache }));
    await rm(key);
    const second = await connectSsh(target(key), { knownHostsFile, fileCache });
    opened.push(second);
    expect((await second.exec({ command: 'echo cached' })).stdout).toBe('cached\n');
    // Without the cache the file is read per connection, so its removal is noticed.
    await expect(connectSsh(target(key), { knownHostsFile })).rejects.toThrow(/cannot be read/);
  });

  it('decrypts a passphrase-protected key once for the run; a wrong passphrase is still refused', async () => {
    const key = path.join(h.dir, 'run_key_encrypted');
    await copyFile(h.clientKeyPath, key);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'open sesame', '-f', key]);
    const knownHostsFile = path.join(h.dir, 'kh-passphrase');
    await writeFile(knownHostsFile, `${h.knownHostsLine}\n`);
    const fileCache = createSshFileCache();
    const options = { knownHostsFile, fileCache, passphrase: 'open sesame' };
    for (const word of ['first', 'second']) {
      const t = await connectSsh(target(key), options);
      opened.push(t);
      expect((await t.exec({ command: `echo ${word}` })).stdout).toBe(`${word}\n`);
    }
    const wrong = await connectSsh(target(key), {
      knownHostsFile,
      fileCache,
      passphrase: 'not it',
    }).catch((e) => e);
    expect(wrong).toMatchObject({ kind: 'unreachable', code: 'SSH_AUTH_REFUSED' });
  });

  it('reads known_hosts again after accept-new added a line, then checks strictly', async () => {
    const knownHostsFile = path.join(h.dir, 'kh-accept');
    await writeFile(knownHostsFile, '');
    const fileCache = createSshFileCache();
    const options = { knownHostsFile, fileCache };
    opened.push(await connectSsh(target(h.clientKeyPath), { ...options, acceptNewHostKeys: true }));
    expect(await readFile(knownHostsFile, 'utf8')).toBe(`${h.knownHostsLine}\n`);
    // Strict now, with the same cache: it must see the line just added.
    const strict = await connectSsh(target(h.clientKeyPath), options);
    opened.push(strict);
    expect((await strict.exec({ command: 'echo strict' })).stdout).toBe('strict\n');
  });

  it('still refuses a changed host key, with or without accept-new, when known_hosts is cached', async () => {
    const knownHostsFile = path.join(h.dir, 'kh-changed');
    const before = `${h.knownHostsLine}\n`;
    await writeFile(knownHostsFile, before);
    const fileCache = createSshFileCache();
    opened.push(await connectSsh(target(h.clientKeyPath), { knownHostsFile, fileCache }));
    await h.restart({ newHostKey: true });
    for (const acceptNewHostKeys of [false, true]) {
      const error = await connectSsh(target(h.clientKeyPath), {
        knownHostsFile,
        fileCache,
        acceptNewHostKeys,
      }).catch((e) => e);
      expect(error).toMatchObject({ kind: 'unreachable', code: 'HOST_KEY_CHANGED' });
    }
    expect(await readFile(knownHostsFile, 'utf8')).toBe(before); // nothing was added
  });
});
