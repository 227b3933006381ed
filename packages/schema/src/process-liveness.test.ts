import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, processStartTime } from './process-liveness.js';

describe('processStartTime and isProcessAlive', () => {
  it('read the start time past a command name holding spaces and parentheses', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-liveness-'));
    // The kernel names a process after its executable's file name (15 bytes at most).
    const odd = path.join(dir, 'a) 1 2 (b');
    await copyFile('/bin/sleep', odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.on('spawn', resolve));
      const pid = child.pid as number;
      const start = processStartTime(pid);
      expect(start).toMatch(/^\d+$/);
      // Started after this test process, so later in clock ticks since boot.
      expect(Number(start)).toBeGreaterThanOrEqual(Number(processStartTime(process.pid)));
      expect(isProcessAlive(pid, start)).toBe(true);
      expect(isProcessAlive(pid)).toBe(true);
      expect(isProcessAlive(pid, String(Number(start) + 1))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    }
    expect(isProcessAlive(child.pid as number)).toBe(false);
    expect(processStartTime(child.pid as number)).toBeUndefined();
  });
});
