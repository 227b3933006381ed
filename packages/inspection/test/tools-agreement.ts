import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/index.js';

const exec = promisify(execFile);

/**
 * The checks against the tools an engineer would run by hand on the same machine: df -P, free -k,
 * /proc/meminfo, nproc and /proc/loadavg. One suite for every way a check reaches the host (local
 * shell, SSH), so each transport is held to the same answers.
 */
export function describeAgreementWithTools(
  title: string,
  inspect: (check: string) => Promise<Finding[]>,
): void {
  describe(title, () => {
    it('filesystem use equals the Capacity column of df -P for every reported mount point', async () => {
      const findings = await inspect('inspection.disk');
      const { stdout } = await exec('df', ['-P']);
      const capacity = new Map<string, number>();
      for (const line of stdout.split('\n').slice(1)) {
        const m = /\s(\d+)%\s+(\/.*)$/.exec(line);
        if (m) capacity.set(m[2] ?? '', Number(m[1]));
      }
      expect(findings.length).toBeGreaterThan(0);
      for (const f of findings) {
        // Other processes write meanwhile: allow one percentage point of drift between the runs.
        expect(
          Math.abs((f.value as number) - (capacity.get(f.subject ?? '') ?? Number.NaN)),
          f.subject,
        ).toBeLessThanOrEqual(1);
      }
    });

    it('memory and swap in use match /proc/meminfo and the total/available/used of free -k', async () => {
      const [mem] = await inspect('inspection.memory');
      const [swap] = await inspect('inspection.swap');
      const { stdout } = await exec('free', ['-k']);
      const row = (label: string) =>
        (stdout.split('\n').find((l) => l.startsWith(label)) ?? '').trim().split(/\s+/).map(Number);
      const [, total = Number.NaN, , , , , available = Number.NaN] = row('Mem:');
      const meminfo = await readFile('/proc/meminfo', 'utf8');
      expect(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1])).toBe(total);
      expect(
        Math.abs((mem?.value as number) - ((total - available) * 100) / total),
      ).toBeLessThanOrEqual(2);
      const [, swapTotal = Number.NaN, swapUsed = Number.NaN] = row('Swap:');
      const expected = swapTotal === 0 ? 0 : (swapUsed * 100) / swapTotal;
      expect(Math.abs((swap?.value as number) - expected)).toBeLessThanOrEqual(2);
    });

    it('load per core divides by the cores nproc reports', async () => {
      const [load] = await inspect('inspection.load');
      const cores = Number((await exec('nproc')).stdout.trim());
      expect(load?.message).toContain(`on ${cores} cores`);
      const load5 = Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[1]);
      // The 5-minute average moves little between the two reads.
      expect(Math.abs((load?.value as number) - load5 / cores)).toBeLessThanOrEqual(0.5);
    });
  });
}
