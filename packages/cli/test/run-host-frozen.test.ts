import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { childrenOf, resumeAll, stopAll } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, exists, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, type RunDoc, readJournal } from './run-outcome.js';
import { timeoutRunbook } from './runbook-fixtures.js';

/*
 * A host that freezes mid-run, through the real binary against real sshd: its connection's sshd
 * process is stopped (SIGSTOP), so the TCP connection stays open and nothing answers, as on a
 * hung machine. Its step times out, its rollback cannot start, and the SSH keepalive (15 s × 3)
 * gives up on it. The run must then end and exit, naming the lost connection, and must not call
 * that host rolled back. It used to print its summary and then linger until the rollback's
 * 15-minute default timeout, the host's reason ssh2's bare "Not connected", marked rolled back.
 */

let world: World;
let frozen: number[] = [];
beforeAll(async () => {
  // The step's timeout leaves the test time to see the step start and freeze the host first.
  const timeout = {
    ...timeoutRunbook,
    yaml: timeoutRunbook.yaml.replace('timeout: 1s', 'timeout: 5s'),
  };
  world = await createWorld({ hostCount: 2, runbooks: { timeout } });
});
afterAll(async () => {
  resumeAll(frozen);
  await world?.remove();
});

describe('opsbook run with a host that freezes mid-step', () => {
  it('ends and exits once keepalive gives up on it, naming the lost connection, not rolled back', async () => {
    const dir = path.join(world.markerDir, 'frozen');
    await mkdir(dir);
    const file = await approvedFile(world, 'timeout', 'frozen.json', [world.people.alice], {
      params: { dir },
      target: 'h1:h2',
    });
    const running = world.spawnOpsbook(['run', file, '--json']);
    await waitFor(() => exists(path.join(dir, 'h2.started')), 'h2 to start its step');
    const h2 = world.hosts[1]!;
    // Read and frozen at once, inside the step's timeout: a ps spawned for it took more than the
    // step's second on a loaded machine, and the kill reached a host not yet frozen.
    frozen = stopAll(childrenOf(h2.pid));
    expect(frozen.length).toBeGreaterThan(0);

    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).not.toContain('Not connected');
    // h1's step timed out (a failed step): exit 1.
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(hostOf(doc, 'h1')).toMatchObject({ status: 'failed', rolledBack: true });
    const lost = hostOf(doc, 'h2');
    expect(lost).toMatchObject({ status: 'unreachable', rolledBack: false });
    expect(lost.error).toContain('the SSH connection was lost');
    expect(lost.failedStep).toEqual({ phase: 'steps', id: 'hang' });
    // The journal names the rollback step the connection was lost in, and why.
    const ends = (await readJournal(doc.journal.path)).filter(
      (e) => e.type === 'step-end' && e.host === 'h2',
    );
    expect(ends.map((e) => [e.step, e.status])).toEqual([
      ['hang', 'timeout'],
      ['undo', 'error'],
    ]);
    expect(String(ends[1]!.reason)).toContain('the SSH connection was lost');
    // The timed-out step's kill never reached the frozen host: not called killed.
    expect(String(ends[0]!.reason)).toContain(
      'the kill was sent but not confirmed (host h2 is not answering)',
    );
    expect(String(ends[0]!.reason)).not.toContain('was killed');
    const h1Timeout = (await readJournal(doc.journal.path)).find(
      (e) => e.type === 'step-end' && e.host === 'h1' && e.step === 'hang',
    );
    expect(String(h1Timeout?.reason)).toMatch(/timed out after \d+ ms and was killed/);
    expect((await world.opsbook(['journal', 'verify', doc.runId])).code).toBe(0);
  });
});
