import { readFileSync } from 'node:fs';

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), as
 * text; undefined where /proc does not tell (not Linux, the process is gone, or /proc hides
 * other users' processes). A PID is reused once its process is gone; the start time is not.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/**
 * Whether the process that was `pid` still runs: `kill(pid, 0)` finds a process, and when
 * `startTime` (from `processStartTime` at the time) is known and /proc tells, it is the same
 * process, not a later one that reused the PID (PIDs wrap; after a reboot a low PID is a daemon).
 */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}
