import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActionContext } from './actions.js';
import { healthReportBuiltin } from './health-action.js';

let temp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  temp = await makeTempDir('opsbook-health-action-');
});
afterAll(async () => {
  await temp?.remove();
});

it('reports from the run’s state store, not from the files in its state dir', async () => {
  // The store holds one inspected run; the state dir (where reports go) holds no journal.
  const now = Date.now();
  let t = now - 60_000;
  const store = filesStore(path.join(temp.dir, 'team-store'), { clock: () => new Date(t++) });
  await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'day-1', ticket: 'OPS-1' });
  const journal = await store.createJournal('day-1', { clock: () => new Date(t++) });
  await journal.append({ type: 'run-start', runbook: { name: 'daily' }, hosts: ['web-1'] });
  await journal.append({
    type: 'step-end',
    host: 'web-1',
    step: 'disk',
    status: 'ok',
    uses: 'inspection.disk',
    result: {
      findings: [
        {
          host: 'web-1',
          check: 'inspection.disk',
          subject: '/',
          status: 'crit',
          value: 95,
          threshold: 80,
          unit: '%',
          message: '/ is 95% full',
        },
      ],
    },
  });
  await journal.append({ type: 'host-end', host: 'web-1', status: 'ok' });
  await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
  await journal.close();
  await store.recordRunEnd({
    runId: 'day-1',
    head: journal.head,
    count: journal.count,
    status: 'ok',
  });

  const stateDir = path.join(temp.dir, 'state');
  const out: string[] = [];
  const outcome = await healthReportBuiltin.run({
    host: 'localhost',
    with: { format: ['json'] },
    runId: 'report-1',
    stateDir,
    store,
    onStdout: (chunk: string) => out.push(chunk),
    onStderr: () => undefined,
  } as unknown as ActionContext);

  expect(outcome.status).toBe('ok');
  const file = path.join(stateDir, 'reports', 'report-1', 'health-report.json');
  const report = JSON.parse(await readFile(file, 'utf8'));
  expect(report.hosts.map((h: { host: string }) => h.host)).toEqual(['web-1']);
  expect(report.environment.counts.crit).toBe(1);
  await store.close();
});
