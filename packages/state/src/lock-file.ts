import { type FileHandle, link, open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive, processStartTime } from '@opsbook/schema';

export interface LockOptions {
  /** How many more times to try once the lock is found taken (default 600: ~15 s). */
  retries?: number;
  /** Upper bound of the random pause between tries (default 50 ms). */
  retryDelayMs?: number;
}

/**
 * Runs `work` holding `lock`, a file that appears (link(2) of a written temp file) holding our
 * PID and, where /proc tells, our start time. A lock whose holder died is broken, so is one whose
 * PID now belongs to another process (another start time: the PID was reused), and so is one
 * that names no holder for more than a few seconds. When the lock stays taken past the retries,
 * throws what `busy` makes of its holder (the caller names what is locked and what to do).
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
  let holder: Holder | undefined;
  let breaks = 0;
  for (let attempt = 0; attempt <= retries; ) {
    if (await tryCreateLock(lock)) return;
    holder = await readHolder(lock);
    // Breaking a dead holder's lock is not a try: with `retries: 0` the lock a killed process
    // left is taken at once. Bounded, so that a lock broken again and again still ends.
    if (
      holder !== undefined &&
      (await isStale(lock, holder)) &&
      breaks < MAX_FREE_BREAKS &&
      (await breakStaleLock(lock, holder))
    ) {
      breaks++;
      continue;
    }
    if (++attempt <= retries) await sleep(1 + Math.random() * delay);
  }
  throw busy(holder?.pid || undefined);
}

/**
 * Who holds a lock: its PID and, when it was recorded, its start time; PID 0 when the file names
 * no one (empty or torn: written by a version that created the file before writing it, and
 * killed in between).
 */
interface Holder {
  pid: number;
  startTime: string | undefined;
  /** The file's text, to tell whether it still names the same holder. */
  text: string;
}

/** How long a lock that names no holder may stay so before it counts as left by a killed process. */
const UNNAMED_STALE_MS = 5000;

async function isStale(lock: string, holder: Holder): Promise<boolean> {
  if (holder.pid > 0) return !isProcessAlive(holder.pid, holder.startTime);
  const since = await stat(lock).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  return since > UNNAMED_STALE_MS;
}

/** `pid\n` then, where /proc tells, `starttime\n` (locks written before it hold the PID alone). */
let ownLockText: string | undefined;
function lockText(): string {
  if (ownLockText === undefined) {
    const start = processStartTime(process.pid);
    ownLockText = `${process.pid}\n${start === undefined ? '' : `${start}\n`}`;
  }
  return ownLockText;
}

/** Errors of `link` where the file system has no hard links (then the lock is written in place). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
let temps = 0;

/**
 * Creates `lock` holding our PID and start time, or returns false when it exists. The text is
 * written to a temp file first and published with link(2), which fails when the name exists: a
 * waiter never sees the lock empty, and a process killed midway leaves no lock behind.
 */
async function tryCreateLock(lock: string): Promise<boolean> {
  const temp = `${lock}.${process.pid}-${++temps}.tmp`;
  await writeNew(temp).catch(async (e: NodeJS.ErrnoException) => {
    // Named with our PID: one that exists was left by a killed process that had this PID.
    if (e.code !== 'EEXIST') throw e;
    await unlink(temp);
    await writeNew(temp);
  });
  try {
    await link(temp, lock);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  try {
    await writeNew(lock);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Creates `file` holding our PID and start time. A file it created but could not fill (ENOSPC)
 * is removed: a temp would stay for ever, a lock would hold nobody's PID.
 */
async function writeNew(file: string): Promise<void> {
  const handle: FileHandle = await open(file, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(lockText(), 'utf8');
    } finally {
      await handle.close();
    }
  } catch (e) {
    await unlink(file).catch(() => undefined);
    throw e;
  }
}

async function readHolder(lock: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readFile(lock, 'utf8');
  } catch {
    return undefined; // released meanwhile
  }
  const m = /^(\d+)\n(?:(\d+)\n)?$/.exec(text) ?? /^\s*(\d+)\s*$/.exec(text);
  const pid = Number(m?.[1]);
  return m && Number.isSafeInteger(pid) && pid > 0
    ? { pid, startTime: m[2], text }
    : { pid: 0, startTime: undefined, text };
}

/**
 * Removes a lock whose holder is dead. Two waiters may see the same stale lock; a second lock
 * file taken with O_EXCL lets only one of them break it, and it re-reads the holder first so
 * it never removes a lock that a live process has just taken.
 */
async function breakStaleLock(lock: string, deadHolder: Holder): Promise<boolean> {
  const breaker = `${lock}.break`;
  for (let tries = 0; !(await tryCreateLock(breaker)); tries++) {
    const breakerHolder = await readHolder(breaker);
    // A breaker killed midway left its file: remove it and try once more.
    if (tries > 0 || breakerHolder === undefined || !(await isStale(breaker, breakerHolder)))
      return false;
    await unlink(breaker).catch(() => undefined);
  }
  try {
    if ((await readHolder(lock))?.text === deadHolder.text)
      await unlink(lock).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
  return true;
}
