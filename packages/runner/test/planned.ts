import type { Plan, PlannedHost, PlannedStep } from '../src/plan/plan.js';

/** A `run:` step of a plan as the planner renders it: remote, no sudo, a 60 s timeout, exit 0. */
export const runStep = (id: string, command: string): PlannedStep => ({
  id,
  name: id,
  kind: 'run',
  command,
  where: 'remote',
  sudo: false,
  timeoutMs: 60_000,
  expect: { exitCodes: [0] },
  continueOnError: false,
});

/** A change plan of runbook `name` for OPS-1 over `hosts` (every host may fail by default). */
export function planOf(
  name: string,
  hosts: PlannedHost[],
  options: { concurrency?: number; maxFailures?: number } = {},
): Plan {
  return {
    apiVersion: 'opsbook/v1',
    kind: 'Plan',
    ticket: 'OPS-1',
    runbook: { name, version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
    category: 'change',
    grade: 'P3',
    params: {},
    secretParams: [],
    concurrency: options.concurrency ?? 1,
    maxFailures: options.maxFailures ?? hosts.length,
    hosts,
  };
}
