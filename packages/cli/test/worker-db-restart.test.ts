import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedTeam } from './distributed-team.js';
import { waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * `opsbook worker` while its PostgreSQL restarts, through the real binary: graphile-worker
 * reconnects on its own, and each thing it says meanwhile is one short note line on stderr
 * (`job queue error: …`), in the words `opsbook schedule run` says them (schedule-db-restart.test.ts): no
 * multi-line error, no stack trace, and the worker keeps running until stopped.
 */

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ marker: markerRunbook() });
});
afterAll(async () => {
  await team?.remove();
});

describe('opsbook worker while PostgreSQL restarts', () => {
  it("says each of the job queue's errors in one note line on stderr, and runs on until stopped", async () => {
    await team.freshDatabase();
    const worker = await team.startWorker('dc1');
    await team.pg.restart({ downMs: 2000 });
    await waitFor(
      () => /^job queue error: .*\S/m.test(worker.stderr()),
      'the worker to say that it lost its database',
    );
    expect(worker.child.exitCode).toBeNull();
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    const notes = /^(worker ready for zone|job queue (error|warning): \S|stopping: )/;
    expect(lines.filter((l) => !notes.test(l))).toEqual([]);
  }, 120_000);
});
