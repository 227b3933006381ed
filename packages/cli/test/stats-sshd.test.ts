import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { runApproval } from './run-outcome.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * opsbook stats over journals the runner itself wrote: a change runbook run for real over sshd,
 * once failing on one host (which rolls back) and once succeeding, then counted. This is what
 * ties the statistics to the runner's events (step-end phase and status, host-end rolledBack),
 * not to a copy of their shape.
 */

const colorCheck: RunbookFixture = {
  version: '2.1.0',
  yaml: `${header('color-check', 'change', 'P3', { title: 'Refuse red hosts, undo on them', description: 'Fails on a host whose color is red, which then rolls back.' })}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 2, maxFailures: 5}
  steps:
    - id: check-color
      name: Fail on a red host
      run: test {{ host.vars.color }} != red
      timeout: 30s
  postchecks:
    - id: still-there
      name: The marker folder is still there
      run: test -d {{ params.dir }}
  rollback:
    - id: mark-undo
      name: Leave an undo marker
      run: touch {{ params.dir }}/{{ host.name }}.undo
      timeout: 30s
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 2, runbooks: { 'color-check': colorCheck } });
  await world.writeInventory({ vars: { h2: { color: 'red' } } });
});
afterAll(() => world?.remove());

describe('opsbook stats of real runs', () => {
  it('counts a failed run with its rollback and failing step, and an ok one', async () => {
    const params = { params: { dir: world.markerDir } };
    const both = await approvedFile(
      world,
      'color-check',
      'both.json',
      [world.people.alice],
      params,
    );
    expect((await runApproval(world, both)).code).toBe(1);
    const one = await approvedFile(world, 'color-check', 'one.json', [world.people.alice], {
      ...params,
      target: 'h1',
    });
    expect((await runApproval(world, one)).code).toBe(0);

    const r = await world.opsbook(['stats', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.leftOut).toEqual([]);
    expect(stats.runbooks).toHaveLength(1);
    const [s] = stats.runbooks;
    expect(s).toMatchObject({
      runbook: 'color-check',
      version: '2.1.0',
      runs: 2,
      outcomes: { ok: 1, failed: 1, unreachable: 0, interrupted: 0, incomplete: 0 },
      failureRate: 0.5,
      rollbacks: { runs: 1, hosts: 1 },
      failedSteps: [{ phase: 'steps', step: 'check-color', failures: 1, timeouts: 0, runs: 1 }],
    });
    expect(s.durationMs.p50).toBeGreaterThan(0);
    expect(s.durationMs.max).toBeGreaterThanOrEqual(s.durationMs.p90);
    expect(stats.idle).toEqual([]);
  });
});
