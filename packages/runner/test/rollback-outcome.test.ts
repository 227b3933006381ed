import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../src/execute/execute.js';
import type { RunEvent } from '../src/execute/run-events.js';
import type { Plan, PlannedHost, PlannedStep } from '../src/plan/plan.js';
import { planOf, runStep } from './planned.js';

/*
 * What a host's result says of its rollback, with real commands on the local transport: "rolled
 * back" (the summary's ROLLED BACK column, `failed (rolled back)`, the ticket's table, stats) is
 * a claim about the host, so it holds only when the rollback ran to its end.
 */

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-rollback-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function planWithRollback(rollback: PlannedStep[]): Plan {
  const host: PlannedHost = {
    name: 'web-01',
    connection: {
      address: '127.0.0.1',
      port: 22,
      user: 'root',
      become: false,
      becomeUser: 'root',
      transport: 'local',
    },
    phases: {
      prechecks: [],
      steps: [runStep('change', 'exit 1')],
      postchecks: [],
      rollback,
      evidence: [],
    },
  };
  return planOf('rollback-test', [host], { maxFailures: 1 });
}

async function run(rollback: PlannedStep[]) {
  const events: RunEvent[] = [];
  const local = createLocalTransport();
  const result = await executePlan({
    plan: planWithRollback(rollback),
    runId: 'rollback-run',
    stateDir: path.join(dir, 'state'),
    bundleDir: dir,
    secrets: {},
    transportFor: async () => local,
    local,
    record: async (event: RunEvent) => {
      events.push(event);
    },
    mask: (t) => t,
    signal: new AbortController().signal,
  });
  const [host] = result.hosts;
  const hostEnd = events.find((e) => e.type === 'host-end');
  return { host, hostEnd };
}

describe("a failed host's rollback", () => {
  it('is reported as rolled back when every rollback step ended ok', async () => {
    const { host, hostEnd } = await run([runStep('undo', 'true')]);
    expect(host).toMatchObject({ status: 'failed', rolledBack: true });
    expect(hostEnd).toMatchObject({ status: 'failed', rolledBack: true });
  });

  it('is not reported as rolled back when a rollback step failed', async () => {
    const { host, hostEnd } = await run([runStep('undo', 'exit 7'), runStep('after', 'true')]);
    expect(host?.steps.map((s) => [s.id, s.status])).toEqual([
      ['change', 'failed'],
      ['undo', 'failed'],
    ]);
    expect(host).toMatchObject({ status: 'failed', rolledBack: false });
    expect(hostEnd).toMatchObject({ status: 'failed', rolledBack: false });
  });
});
