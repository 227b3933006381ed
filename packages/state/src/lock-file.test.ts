import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { processStartTime } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLockFile } from './lock-file.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The PID of a process that has exited (killed): a lock holding it is stale. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await new Promise((resolve) => child.on('spawn', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

class Busy extends Error {
  constructor(readonly holder: number | undefined) {
    super('busy');
  }
}
const busy = (holder: number | undefined) => new Busy(holder);

describe('withLockFile', () => {
  it('with retries 0 takes at once a lock a killed process left (breaking it is not a try)', async () => {
    const lock = path.join(root, 'dead.lock');
    await writeFile(lock, `${await deadPid()}\n`);
    const seen = await withLockFile(lock, { retries: 0 }, () => readFile(lock, 'utf8'), busy);
    expect(seen).toBe(`${process.pid}\n${processStartTime(process.pid)}\n`);
    await expect(access(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(access(`${lock}.break`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with retries 0 never breaks the lock of a live holder: busy names it, the lock stays', async () => {
    const lock = path.join(root, 'live.lock');
    await writeFile(lock, `${process.pid}\n`);
    let ran = false;
    const error = await withLockFile(
      lock,
      { retries: 0 },
      async () => {
        ran = true;
      },
      busy,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Busy);
    expect((error as Busy).holder).toBe(process.pid);
    expect(ran).toBe(false);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
  });

  /*
   * A holder's PID is reused: PIDs wrap (pid_max is 32768 on many machines), and after a crash
   * and a reboot a low PID in a lock belongs to some daemon. Alive by `kill(pid, 0)`, it is not
   * the process that took the lock: its start time tells them apart.
   */
  it('breaks at once a lock whose PID now belongs to another process (another start time)', async () => {
    const lock = path.join(root, 'reused.lock');
    // This test process is alive; the lock names it with a start time that is not its own.
    const own = Number(processStartTime(process.pid));
    expect(Number.isSafeInteger(own)).toBe(true);
    await writeFile(lock, `${process.pid}\n${own + 1}\n`);
    const seen = await withLockFile(lock, { retries: 0 }, () => readFile(lock, 'utf8'), busy);
    expect(seen).toBe(`${process.pid}\n${own}\n`);
  });

  it('keeps the lock of a live holder whose start time matches', async () => {
    const lock = path.join(root, 'matching.lock');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    await new Promise((resolve) => holder.on('spawn', resolve));
    try {
      const pid = holder.pid as number;
      await writeFile(lock, `${pid}\n${processStartTime(pid)}\n`);
      const error = await withLockFile(
        lock,
        { retries: 2, retryDelayMs: 5 },
        async () => 'ran',
        busy,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Busy);
      expect((error as Busy).holder).toBe(pid);
      expect(await readFile(lock, 'utf8')).toBe(`${pid}\n${processStartTime(pid)}\n`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('reads a lock written without a start time (before it was recorded) by its PID alone', async () => {
    const lock = path.join(root, 'legacy.lock');
    await writeFile(lock, `${await deadPid()}\n`);
    await expect(withLockFile(lock, { retries: 0 }, async () => 'ran', busy)).resolves.toBe('ran');
  });

  /*
   * A process killed between creating the lock file and writing its PID into it left an empty
   * lock: nothing names a holder to check, and it was never broken (alerts serve, SIGKILLed
   * mid-burst, came back to a state it could never lock again).
   */
  it('breaks an empty lock once it is older than a holder takes to write its PID', async () => {
    const lock = path.join(root, 'empty-old.lock');
    await writeFile(lock, '');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, aMinuteAgo, aMinuteAgo);
    await expect(withLockFile(lock, { retries: 0 }, async () => 'ran', busy)).resolves.toBe('ran');
    await expect(access(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves a fresh empty lock alone (its creator may be writing its PID)', async () => {
    const lock = path.join(root, 'empty-fresh.lock');
    await writeFile(lock, '');
    const error = await withLockFile(lock, { retries: 0 }, async () => 'ran', busy).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Busy);
    expect(await readFile(lock, 'utf8')).toBe('');
  });

  it("breaks a dead holder's lock even when a killed breaker left an empty break file", async () => {
    const lock = path.join(root, 'dead-behind-break.lock');
    await writeFile(lock, `${await deadPid()}\n`);
    await writeFile(`${lock}.break`, '');
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${lock}.break`, aMinuteAgo, aMinuteAgo);
    await expect(withLockFile(lock, { retries: 0 }, async () => 'ran', busy)).resolves.toBe('ran');
  });

  it('never shows an empty lock: the lock appears with its holder written, and no temp file stays', async () => {
    const dir = await mkdtemp(path.join(root, 'atomic-'));
    const lock = path.join(dir, 'state.lock');
    // Another process reads the lock as a waiter would, as fast as it can, until told to stop.
    const watcher = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); let reads = 0, empty = 0;
         process.stdin.on('data', () => { process.stdout.write(JSON.stringify({ reads, empty })); process.exit(0); });
         const spin = () => { const end = Date.now() + 20;
           while (Date.now() < end) { let t; try { t = fs.readFileSync(process.argv[1], 'utf8'); } catch { continue; }
             reads++; if (t === '') empty++; }
           setImmediate(spin); };
         process.stdout.write('ready\\n'); spin();`,
        lock,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    watcher.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    for (let i = 0; i < 500 && !out.startsWith('ready'); i++) await sleep(10);
    let taken = 0;
    for (let i = 0; i < 300; i++)
      await withLockFile(
        lock,
        { retries: 100, retryDelayMs: 2 },
        async () => {
          taken++;
        },
        busy,
      );
    watcher.stdin.write('stop');
    await new Promise((resolve) => watcher.on('exit', resolve));
    const { reads, empty } = JSON.parse(out.slice('ready\n'.length)) as {
      reads: number;
      empty: number;
    };
    expect(taken).toBe(300);
    expect(reads).toBeGreaterThan(0);
    expect(empty).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('is not stopped by a temp file a killed process with our PID left', async () => {
    const dir = await mkdtemp(path.join(root, 'leftover-'));
    const lock = path.join(dir, 'state.lock');
    // The temp's name holds the PID and a count of this process's locks so far: cover them all.
    for (let n = 1; n <= 3000; n++) await writeFile(`${lock}.${process.pid}-${n}.tmp`, '');
    await expect(withLockFile(lock, { retries: 0 }, async () => 'ran', busy)).resolves.toBe('ran');
    expect((await readdir(dir)).length).toBe(2999);
  });

  // A real full file system: a tmpfs filled to the last page (mounting needs root: a machine
  // that cannot mount fails this test rather than skips it, as the CLI's full-disk tests do).
  it('leaves no temp file behind when the disk is full (ENOSPC while writing the holder)', async () => {
    const run = promisify(execFile);
    const dir = await mkdtemp(path.join(root, 'full-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      await run('dd', ['if=/dev/zero', `of=${path.join(dir, 'fill')}`, 'bs=4k']).catch(
        () => undefined, // dd stops at ENOSPC
      );
      const lock = path.join(dir, 'state.lock');
      await expect(
        withLockFile(lock, { retries: 0 }, async () => 'ran', busy),
      ).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(await readdir(dir)).toEqual(['fill']);
    } finally {
      await run('umount', [dir]);
    }
  });
});
