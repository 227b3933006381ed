import { type FileHandle, open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** How many more times to try once the lock is found taken (default 600: ~15 s). */
  retries?: number;
  /** Upper bound of the random pause between tries (default 50 ms). */
  retryDelayMs?: number;
}

/**
 * Runs `work` holding `lock`, a file created with O_EXCL holding our PID; a lock whose holder
 * died is broken. When the lock stays taken past the retries, throws what `busy` makes of its
 * holder (the caller names what is locked and what to do).
 */
export async function withLockFile<T>(
  lock: string,
  options: LockOptions,
  work: () => Promise<T>,
  busy: (holder: number | undefined) => Error,
): Promise<T> {
  await acquireLock(lock, options, busy);
  try {
    return await work();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

/** Stale locks broken without counting them as tries, per acquisition. */
const MAX_FREE_BREAKS = 10;

async function acquireLock(
  lock: string,
  options: LockOptions,
  busy: (holder: number | undefined) => Error,
): Promise<void> {
  const retries = options.retries ?? 600;
  const delay = options.retryDelayMs ?? 50;
  let holder: number | undefined;
  let breaks = 0;
  for (let attempt = 0; attempt <= retries; ) {
    if (await tryCreateLock(lock)) return;
    holder = await readHolder(lock);
    // Breaking a dead holder's lock is not a try: with `retries: 0` the lock a killed process
    // left is taken at once. Bounded, so that a lock broken again and again still ends.
    if (
      holder !== undefined &&
      !isAlive(holder) &&
      breaks < MAX_FREE_BREAKS &&
      (await breakStaleLock(lock, holder))
    ) {
      breaks++;
      continue;
    }
    if (++attempt <= retries) await sleep(1 + Math.random() * delay);
  }
  throw busy(holder);
}

async function tryCreateLock(lock: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await handle.writeFile(`${process.pid}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(lock: string): Promise<number | undefined> {
  // Empty while its creator is between open and write, or gone if it was just released.
  const text = (await readFile(lock, 'utf8').catch(() => '')).trim();
  const pid = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes a lock whose holder is dead. Two waiters may see the same stale lock; a second lock
 * file taken with O_EXCL lets only one of them break it, and it re-reads the holder first so
 * it never removes a lock that a live process has just taken.
 */
async function breakStaleLock(lock: string, deadHolder: number): Promise<boolean> {
  const breaker = `${lock}.break`;
  if (!(await tryCreateLock(breaker))) {
    const breakerHolder = await readHolder(breaker);
    if (breakerHolder !== undefined && !isAlive(breakerHolder)) {
      await unlink(breaker).catch(() => undefined);
    }
    return false;
  }
  try {
    if ((await readHolder(lock)) === deadHolder) await unlink(lock).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
  return true;
}
