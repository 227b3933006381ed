import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOverExec } from '../src/copy-over-exec.js';
import { connectSsh, createLocalTransport, type Transport } from '../src/index.js';

/*
 * A host whose sshd_config has no `Subsystem sftp` line: files go over a command instead, and
 * the host checks their size and sha256 before the file can be used. A short or altered input
 * (an abort, a lost connection, a local file that changed) must leave nothing behind.
 */

let sshd: Sshd;
let knownHosts = '';
let dir = '';
const opened: Transport[] = [];

beforeAll(async () => {
  sshd = await startSshd({ address: '127.0.0.12', sftp: false });
  knownHosts = path.join(sshd.dir, 'known_hosts_no_sftp');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-no-sftp-'));
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await sshd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connect(): Promise<Transport> {
  const t = await connectSsh(
    {
      name: 'no-sftp-host',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identityFile: sshd.clientKeyPath,
    },
    { knownHostsFile: knownHosts },
  );
  opened.push(t);
  return t;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const sftpRequests = () => sshd.log().match(/subsystem request for sftp by user/g)?.length ?? 0;

describe('SSH transport on a host without the SFTP subsystem', () => {
  it('writes the exact bytes over a command, mode 0700, asking for SFTP once', async () => {
    const t = await connect();
    const before = sftpRequests();
    // Larger than an SSH channel window, with every byte value (NUL, newlines, a partial UTF-8).
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const first = path.join(dir, 'first.bin');
    await t.writeFile(first, bytes, { mode: 0o700 });
    expect(sha256(await readFile(first))).toBe(sha256(bytes));
    expect((await stat(first)).mode & 0o777).toBe(0o700);

    const script = path.join(dir, 'second.sh');
    await t.writeFile(script, Buffer.from('#!/bin/sh\necho "ran $1"\n'), { mode: 0o700 });
    expect((await t.exec({ command: `${script} here` })).stdout).toBe('ran here\n');
    expect(sftpRequests() - before).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['first.bin', 'second.sh']);
  });

  it('copies a local file over a command too (backup copies)', async () => {
    const t = await connect();
    const local = path.join(dir, 'archive.local');
    const bytes = randomBytes(200_000);
    await writeFile(local, bytes);
    const remote = path.join(dir, 'archive.copy');
    await t.copyFile(local, remote, { mode: 0o600 });
    expect(sha256(await readFile(remote))).toBe(sha256(bytes));
    expect((await stat(remote)).mode & 0o777).toBe(0o600);
  });

  it('refuses a short input: nothing is kept, nothing can run', async () => {
    const t = await connect();
    const full = Buffer.from('#!/bin/sh\necho whole\nrm -rf -- "$HOME/important"\n');
    const short = full.subarray(0, 22); // cut inside the second line
    const remote = path.join(dir, 'short.sh');
    const sent = copyOverExec(
      t,
      remote,
      { size: full.length, sha256: sha256(full), open: () => Readable.from([short]) },
      { mode: 0o700 },
    );
    await expect(sent).rejects.toMatchObject({ code: 'SSH_COPY_FAILED' });
    await expect(sent).rejects.toThrow(/received 22 bytes .*expected \d+ bytes/);
    expect((await readdir(dir)).filter((f) => f.startsWith('short'))).toEqual([]);
  });

  it('refuses bytes of the right length whose sha256 differs', async () => {
    const t = await connect();
    const signed = Buffer.from('#!/bin/sh\necho signed\n');
    const other = Buffer.from('#!/bin/sh\necho UNSIGN\n');
    const remote = path.join(dir, 'altered.sh');
    await expect(
      copyOverExec(
        t,
        remote,
        { size: signed.length, sha256: sha256(signed), open: () => Readable.from([other]) },
        { mode: 0o700 },
      ),
    ).rejects.toMatchObject({ code: 'SSH_COPY_FAILED' });
    expect((await readdir(dir)).filter((f) => f.startsWith('altered'))).toEqual([]);
  });
});

describe('a host with neither SFTP nor a sha256 tool', () => {
  it('refuses with SSH_SFTP_UNAVAILABLE naming the fixes, writing nothing', async () => {
    // A PATH with the shell tools but no sha256sum, openssl or shasum.
    const bin = path.join(dir, 'bin-without-sha256');
    await mkdir(bin);
    for (const tool of ['sh', 'cat', 'wc', 'tr', 'chmod', 'mv', 'rm'])
      await symlink(`/bin/${tool}`, path.join(bin, tool));
    const host = createLocalTransport({ host: 'bare-01', env: { PATH: bin } });
    const bytes = Buffer.from('#!/bin/sh\necho hi\n');
    const target = path.join(dir, 'bare');
    await mkdir(target);
    const sent = copyOverExec(
      host,
      path.join(target, 'go.sh'),
      { size: bytes.length, sha256: sha256(bytes), open: () => Readable.from([bytes]) },
      { mode: 0o700 },
    );
    await expect(sent).rejects.toMatchObject({ code: 'SSH_SFTP_UNAVAILABLE', kind: 'failed' });
    await expect(sent).rejects.toThrow(/bare-01.*Subsystem sftp internal-sftp.*sha256sum/s);
    expect(await readdir(target)).toEqual([]);
  });
});
