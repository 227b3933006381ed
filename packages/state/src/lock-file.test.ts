import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
    expect(seen).toBe(`${process.pid}\n`);
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
});
