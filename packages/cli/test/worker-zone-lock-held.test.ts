import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type HeldAdvisoryLock, holdAdvisoryLock } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, waitFor } from './opsbook-world.js';
import type { RunDoc } from './run-outcome.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * Any role of the team's database may take an advisory lock of the name of a zone's worker lease
 * (`opsbook worker zone <zone>`) exclusively: an operator's psql, a script that locks
 * everything. The worker starts all the same (e731506) and takes its lease once the lock is free;
 * here, through the real binary on a real PostgreSQL, it must say who keeps it waiting, once,
 * and what to do, then that it took the lease.
 */

let team: DistributedTeam;
const sessions: HeldAdvisoryLock[] = [];

beforeAll(async () => {
  team = await DistributedTeam.start({ marker: markerRunbook() });
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  for (const s of sessions.splice(0)) s.kill();
  await team?.stopAll();
});

/** A psql session over TCP, as `application`, on `database`, that holds `lock` exclusively. */
async function holdLock(database: string, lock: string, application: string) {
  const held = await holdAdvisoryLock(team.pg.env(database), lock, application);
  sessions.push(held);
  return held;
}

describe('opsbook worker whose zone lock another session of the database holds', () => {
  it('says once, on stderr, which session holds it (pid, application, user, client, since), that it waits for the lease and how to end that session; then that it took the lease, and runs the zone’s shard', async () => {
    const { world } = team;
    const database = await team.freshDatabase();
    const holder = await holdLock(database, 'opsbook worker zone dc1', 'nightly-audit');
    const worker = await team.startWorker('dc1', { args: ['--zone', 'dc1', '--json'] });
    await waitFor(() => worker.stderr().includes('worker ready'), 'the worker to be ready');
    const notice = worker
      .stderr()
      .split('\n')
      .filter((l) => l.includes('zone lease'));
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatch(
      new RegExp(
        `^zone dc1: this worker waits for its zone lease \\(the advisory lock 'opsbook worker zone dc1' on postgres://postgres@127\\.0\\.0\\.1:\\d+/${database}\\): another session, not an opsbook worker, holds it exclusively: pid ${holder.pid}, user postgres, application 'nightly-audit', client 127\\.0\\.0\\.1:\\d+, connected since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(idle\\)\\. `,
      ),
    );
    expect(notice[0]).toContain(
      "It still takes zone dc1's shards meanwhile, but without the lease a run whose shard waits cannot count it: the lease is tried again every 5 s and taken once free.",
    );
    expect(notice[0]).toContain(
      `If that session should not hold the lock, look at it (select * from pg_stat_activity where pid = ${holder.pid}) and end it (select pg_terminate_backend(${holder.pid}))`,
    );
    expect(worker.stderr()).not.toContain(team.pg.password);
    await holder.release();
    await waitFor(
      () => worker.stderr().includes('zone dc1: this worker took its zone lease'),
      'the worker to take its lease',
    );
    expect(
      worker
        .stderr()
        .split('\n')
        .filter((l) => l.includes('zone lease')),
    ).toHaveLength(2);
    const dir = path.join(world.markerDir, 'lock-held');
    await mkdir(dir);
    const file = await approvedFile(world, 'marker', 'lock-held.json', [world.people.alice], {
      params: { dir },
      target: 'h1',
      env: team.dbEnv,
    });
    const r = await team.finished(team.submit(['run', file, '--distribute', '--json']));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([['h1', 'ok']]);
    expect(exists(path.join(dir, 'h1.ran'))).toBe(true);
    await waitFor(() => worker.stderr().includes('ended: h1 ok'), 'the worker to end the shard');
    // Said once each: not at every try; and never on the stdout of --json.
    expect(
      worker
        .stderr()
        .split('\n')
        .filter((l) => l.includes('zone lease')),
    ).toHaveLength(2);
    expect(worker.stdout()).toBe('');
  });

  it("tells a run whose shard waits that another session holds the zone's lock, not that the zone's workers are busy or that none is connected", async () => {
    const { world } = team;
    const database = await team.freshDatabase();
    const holder = await holdLock(database, 'opsbook worker zone dc2', 'nightly-audit');
    const dir = path.join(world.markerDir, 'lock-held-waiting');
    await mkdir(dir);
    const file = await approvedFile(
      world,
      'marker',
      'lock-held-waiting.json',
      [world.people.alice],
      {
        params: { dir },
        target: 'h3',
        env: team.dbEnv,
      },
    );
    const run = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(() => run.stderr().includes('waits for a worker'), 'the dc2 shard to wait');
    run.child.kill('SIGINT');
    const r = await team.finished(run);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(
      new RegExp(
        `shard \\d+ \\(zone dc2, 1 host\\(s\\)\\) waits for a worker: whether a worker of zone dc2 is connected cannot be told: another session, not an opsbook worker, holds the zone's lock \\('opsbook worker zone dc2'\\) exclusively: pid ${holder.pid}, user postgres, application 'nightly-audit', client 127\\.0\\.0\\.1:\\d+, connected since \\S+ \\(idle\\)\\. A worker of the zone takes shards all the same: if none runs, start one; if that session should not hold the lock, end it \\(select pg_terminate_backend\\(${holder.pid}\\)\\)`,
      ),
    );
    expect(r.stderr).not.toContain('are busy');
    expect(r.stderr).not.toContain('is connected to');
    await holder.release();
  });

  it('says nothing of the lease when the only other holder is another worker of the zone (they share it)', async () => {
    await team.freshDatabase();
    await team.startWorker('dc1');
    const second = await team.startWorker('dc1');
    expect(second.stderr()).not.toContain('zone lease');
  });
});
