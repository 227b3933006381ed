import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, userEnv } from './run-cli.js';

let dir: string;
const runId = '20250401-000000-dddddd';

/**
 * What a runner killed with SIGKILL mid-step leaves: its journal up to the step's start on h0
 * (after an earlier step that ended), and no step-end, host-end or run-end.
 */
async function recordKilledRun() {
  const store = filesStore(path.join(dir, '.opsbook'));
  await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-7' });
  const times = ['00:00:00', '00:00:01', '00:00:02', '00:00:05', '00:00:06'];
  const clock = () => new Date(`2025-04-01T${times.shift() ?? '00:00:09'}Z`);
  const journal = await store.createJournal(runId, { clock });
  await journal.append({
    type: 'run-start',
    runId,
    ticket: 'OPS-7',
    runbook: { name: 'disk-cleanup', version: '1.0.0' },
    approval: { id: `apr-${runId}` },
    hosts: ['h0'],
  });
  await journal.append({ type: 'host-start', host: 'h0' });
  await journal.append({ type: 'step-start', host: 'h0', phase: 'steps', step: 's0', name: 's0' });
  await journal.append({
    type: 'step-end',
    host: 'h0',
    phase: 'steps',
    step: 's0',
    status: 'ok',
    exitCode: 0,
    signal: null,
    durationMs: 3000,
    stdout: 'freed 3 GB\n',
    stderr: '',
  });
  await journal.append({ type: 'step-start', host: 'h0', phase: 'steps', step: 's1', name: 's1' });
  await journal.close();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-runs-show-'));
  await writeFile(path.join(dir, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
  await recordKilledRun();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('opsbook runs show of a run whose runner was killed mid-step', () => {
  it('shows the step that started and has no result, with its start time', async () => {
    const r = await runCli(['runs', 'show', runId], { cwd: dir, env: userEnv() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const h0 = lines.indexOf('host h0');
    expect(h0).toBeGreaterThan(-1);
    // The ended step as before, once; the started one under it, its outcome unknown.
    expect(lines.slice(h0 + 1)).toEqual([
      '  steps/s0  ok  exit 0  3.0s',
      '  steps/s1  started 2025-04-01T00:00:06.000Z, no result (its runner stopped: outcome unknown)',
      '',
    ]);
    // --output puts what s0 printed under it, before the step that started after it.
    const out = await runCli(['runs', 'show', runId, '--output'], { cwd: dir, env: userEnv() });
    expect(out.stdout).toContain(
      '  steps/s0  ok  exit 0  3.0s\n    | freed 3 GB\n  steps/s1  started 2025-04-01T00:00:06.000Z, no result',
    );
  });
});
