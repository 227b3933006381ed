// The CPU of everything the benchmark's sshd starts, orphans included. /proc/PID/stat of sshd
// counts only the sessions it reaped; a session whose shell left a child behind (opsbook's step
// session runs each command in a background subshell) hands that child to PID 1 when it ends, and
// its CPU was then counted nowhere. A cgroup counts every process started in it until it exits.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sleep } from './bench-processes.mjs';

/**
 * A new cgroup for `pid` (moved into it at once, before it forks anything): cgroup v2 where the
 * machine has it (/sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1), else v1's cpuacct.
 * Returns `{kind, cpuSeconds(), remove()}`, or undefined where neither can be written (no root,
 * a read-only /sys/fs/cgroup): the caller then counts sshd and what it reaped, and says so.
 */
export async function cgroupFor(pid, name) {
  const candidates = [
    ['cgroup v2', '/sys/fs/cgroup', readV2],
    ['cgroup v2', '/sys/fs/cgroup/unified', readV2],
    ['cgroup v1 cpuacct', '/sys/fs/cgroup/cpuacct', readV1],
  ];
  for (const [kind, root, read] of candidates) {
    const dir = path.join(root, name);
    try {
      // v2's core files (cpu.stat) exist whether or not a controller is enabled; v1 needs cpuacct.
      await read(root);
      await mkdir(dir);
    } catch {
      continue;
    }
    try {
      await writeFile(path.join(dir, 'cgroup.procs'), String(pid));
      await read(dir);
    } catch {
      await rmdir(dir).catch(() => {});
      continue;
    }
    return {
      kind,
      cpuSeconds: () => read(dir),
      /** After every process of the group ended (sshd stopped): a few tries for the last ones. */
      async remove() {
        for (let i = 0; i < 50; i++) {
          try {
            await rmdir(dir);
            return;
          } catch {
            await sleep(100);
          }
        }
      },
    };
  }
  return undefined;
}

async function readV2(dir) {
  const text = await readFile(path.join(dir, 'cpu.stat'), 'utf8');
  const usec = text.match(/^usage_usec (\d+)$/m)?.[1];
  if (usec === undefined) throw new Error(`no usage_usec in ${dir}/cpu.stat`);
  return Number(usec) / 1e6;
}

async function readV1(dir) {
  return Number((await readFile(path.join(dir, 'cpuacct.usage'), 'utf8')).trim()) / 1e9;
}
