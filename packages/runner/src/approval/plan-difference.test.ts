import type { ApprovalStatement } from '@opsbook/approval';
import { describe, expect, it } from 'vitest';
import type { Plan, PlannedHost } from '../plan/plan.js';
import { planDifferences } from './plan-difference.js';

const runbook = { name: 'disk-cleanup', version: '1.2.0', digest: 'sha256:aa' };
const noSteps = { prechecks: [], steps: [], postchecks: [], rollback: [], evidence: [] };

function host(name: string, port = 22, command = 'find /var/log -mtime +7'): PlannedHost {
  return {
    name,
    connection: { transport: 'ssh', address: '10.0.0.1', port, user: 'root' },
    phases: { ...noSteps, steps: [{ id: 'clean', name: 'Clean', command }] },
  } as unknown as PlannedHost;
}

function plan(hosts: PlannedHost[], params: Record<string, number> = { days: 7 }): Plan {
  return { runbook, params, hosts, concurrency: 10, maxFailures: 1 } as unknown as Plan;
}

const statement = { runbook, params: { days: 7 } } as unknown as ApprovalStatement;

describe('what differs between the plan proposed and the one rendered here', () => {
  it('names hosts added and missing, a connection field and the steps whose commands differ', () => {
    const proposed = plan([host('db-1'), host('db-2')]);
    const here = plan([host('db-1', 2222, 'find /var/log -mtime +1'), host('db-3')]);
    expect(planDifferences(statement, here, proposed)).toEqual([
      'hosts added here: db-3',
      'hosts missing here: db-2',
      'db-1: its connection differs (port); its commands differ (steps/clean): a host var or a script',
    ]);
  });

  it('names the runbook version and params from the statement when no proposed plan is at hand', () => {
    const here = {
      ...plan([host('db-1')], { days: 1 }),
      runbook: { ...runbook, version: '1.3.0', digest: 'sha256:bb' },
    };
    expect(planDifferences(statement, here)).toEqual([
      'runbook disk-cleanup: proposed 1.2.0 (sha256:aa), here 1.3.0 (sha256:bb)',
      'params days',
    ]);
  });
});
