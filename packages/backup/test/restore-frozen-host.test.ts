import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandCancelledError, type Transport } from '@opsbook/exec';
import { processesUnder, resumeAll, type Sshd, startSshd, stopAll } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupFiles, RestoreCancelledError, restoreFiles } from '../src/index.js';
import { beforeLastChunk, connectTestHost } from './test-hosts.js';

/*
 * A file restore cancelled (a second Ctrl-C) while its host is frozen (its sshd processes
 * stopped with SIGSTOP, the TCP connection still open, as on a hung machine): the kill goes out
 * but nothing there answers. The error must not call the command killed, and must say what
 * became of the restore: the archive had not all been sent, so the host restores nothing of it,
 * which the target shows once the host answers again.
 */

let host: Sshd;
let temp: { dir: string; remove: () => Promise<void> };
const opened: Transport[] = [];
const frozen: number[] = [];
let repository = '';
let backupId = '';

/** Every process under sshd (its sessions and what they run), read from /proc at once. */
const sessionProcesses = (): number[] => processesUnder(host.pid);

/** Freezes the host: every process of its sshd stopped, kept to resume. */
function freezeHost(): void {
  frozen.push(...stopAll(sessionProcesses()));
}

/** Bytes of every file under `dir`, its subfolders included (0 when it is gone). */
async function bytesUnder(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const info = await stat(path.join(dir, entry)).catch(() => undefined);
    if (info?.isFile()) bytes += info.size;
  }
  return bytes;
}

/** Waits for a condition a bounded number of times (no wall-clock assertion: it only waits). */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  host = await startSshd();
  temp = await makeTempDir('opsbook-restore-frozen-');
  repository = path.join(temp.dir, 'repo');
  // 256 MiB that tar must send (not zeros: --sparse skips those): the restore is still
  // streaming when the host freezes.
  const source = path.join(temp.dir, 'source');
  await mkdir(source);
  const chunk = Buffer.alloc(1024 * 1024, 'opsbook ');
  const big = await open(path.join(source, 'big'), 'w');
  for (let i = 0; i < 256; i++) await big.write(chunk);
  await big.close();
  const ssh = await connectTestHost(host, temp.dir);
  opened.push(ssh);
  const { backup } = await backupFiles({
    transport: ssh,
    repository,
    paths: [source],
    compression: 'none',
  });
  backupId = backup.id;
  await ssh.close();
}, 120_000);
afterAll(async () => {
  resumeAll(frozen);
  await Promise.all(opened.map((t) => t.close()));
  await host?.dispose();
  await temp?.remove();
});

describe('a file restore cancelled on a frozen host', () => {
  it('says the kill was not confirmed and that nothing was restored, which the target shows once the host answers', async () => {
    const ssh = await connectTestHost(host, temp.dir, 'web-2');
    opened.push(ssh);
    const target = path.join(temp.dir, 'target');
    const controller = new AbortController();
    const restoring = restoreFiles({
      transport: ssh,
      repository,
      backup: { id: backupId },
      targetDir: target,
      signal: controller.signal,
    });
    restoring.catch(() => {}); // looked at below
    await waitFor(async () => (await bytesUnder(target)) > 0, 'the archive to start arriving');
    freezeHost();

    controller.abort();
    const error = await restoring.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: false, host: 'web-2' });
    const message = (error as Error).message;
    expect(message).toBe(
      `the restore of ${backupId} into ${target} on web-2 was cancelled before the whole archive was sent; the kill was sent but not confirmed (host web-2 is not answering): its command may still be running there; nothing of it was restored (the host publishes only a whole archive that matched its manifest)`,
    );

    // The host answers again: it reads the end of its input, and leaves the target as it was.
    resumeAll(frozen.splice(0));
    await waitFor(async () => (await readdir(target)).length === 0, 'the target to be left empty');
  });
});

describe('a file restore cancelled on a host that froze once the whole archive was sent', () => {
  it('says its outcome is unknown: no exit status came to say whether it completed', async () => {
    const ssh = await connectTestHost(host, temp.dir, 'web-3');
    opened.push(ssh);
    const small = path.join(temp.dir, 'small-source');
    await mkdir(small);
    await writeFile(path.join(small, 'app.ini'), '[app]\nport = 8082\n');
    const { backup } = await backupFiles({ transport: ssh, repository, paths: [small] });
    const target = path.join(temp.dir, 'target-whole');
    const controller = new AbortController();
    const error = await restoreFiles({
      // Frozen before the archive's last chunk (its commit line) reaches the host: it cannot
      // have published nor exited, and no exit status can come.
      transport: beforeLastChunk(ssh, () => {
        freezeHost();
        controller.abort();
      }),
      repository,
      backup: { id: backup.id },
      targetDir: target,
      signal: controller.signal,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RestoreCancelledError);
    expect(error).toMatchObject({ restore: 'unknown', isKillConfirmed: false, host: 'web-3' });
    expect((error as Error).message).toBe(
      `the restore of ${backup.id} into ${target} on web-3 was cancelled after the whole archive was sent; the kill was sent but not confirmed (host web-3 is not answering): its command may still be running there; the restore's outcome is unknown (its host reported no exit status): it may have completed, or stopped part-way with part of the backup in ${target}: look at ${target} on web-3 before restoring again`,
    );
    resumeAll(frozen.splice(0));
  });
});
