import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { DistributedTeam, type Zone } from './distributed-team.js';
import {
  createTicket,
  exists,
  type RunbookFixture,
  type RunningCli,
  trackerOf,
  type World,
  waitFor,
} from './opsbook-world.js';
import type { RunDoc } from './run-outcome.js';
import { dirParam, header, secretRunbook } from './runbook-fixtures.js';

/*
 * Issue #16 item 5, "Done means": `opsbook run --distribute` against a real PostgreSQL (state
 * store and graphile-worker's queue), two `opsbook worker` processes in zones dc1 and dc2, each
 * with its own working copy and trust pin, and real sshd hosts. A worker killed mid-shard, the
 * database restarted mid-run, and a job tampered with in the queue table.
 */

/** Appends a line per run to `<host>.runs`: a host that ran twice has two lines. */
const countedRunbook: RunbookFixture = {
  yaml: `${header('counted', 'change', 'P3', { title: 'Count the runs on each host' })}spec:
  params:
${dirParam}    seconds: {type: integer, default: 0, minimum: 0}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: count
      name: Count this run and take a while
      run: echo ran >> {{ params.dir }}/{{ host.name }}.runs && sleep {{ params.seconds }} && touch {{ params.dir }}/{{ host.name }}.slept
    - id: after
      name: After the wait
      run: touch {{ params.dir }}/{{ host.name }}.after
`,
};

let team: DistributedTeam;
let pg: Postgres;
let world: World;

beforeAll(async () => {
  team = await DistributedTeam.start({ counted: countedRunbook, 'secret-token': secretRunbook });
  ({ pg, world } = team);
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  await team?.stopAll();
});

const freshDatabase = () => team.freshDatabase();
const startWorker = (zone: Zone, env: NodeJS.ProcessEnv = {}) => team.startWorker(zone, { env });
const finished = (run: RunningCli) => team.finished(run);

async function markerDir(name: string): Promise<string> {
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  return dir;
}

async function runsOf(dir: string, host: string): Promise<number> {
  const file = path.join(dir, `${host}.runs`);
  if (!exists(file)) return 0;
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;
}

async function approved(name: string, dir: string, seconds: number, target = 'all') {
  return approvedFile(world, 'counted', `${name}.json`, [world.people.alice], {
    params: { dir, seconds: String(seconds) },
    target,
    env: team.dbEnv,
  });
}

/** The job key of the run's dc2 shard, once it is queued. */
async function dc2ShardKey(database: string): Promise<string> {
  let shardKey = '';
  await waitFor(async () => {
    shardKey = (
      await pg.psql(
        "select key from graphile_worker.jobs where task_identifier = 'opsbook.shard.dc2'",
        database,
      )
    ).trim();
    return shardKey !== '';
  }, 'the dc2 shard to be queued');
  return shardKey;
}

/** Waits for the run's dc2 shard to be queued, then changes its hosts to h4 (not approved). */
async function giveDc2ShardHostH4(database: string): Promise<void> {
  const shardKey = await dc2ShardKey(database);
  await pg.psql(
    `update graphile_worker._private_jobs set payload = jsonb_set(payload::jsonb, '{hosts}', '["h4"]')::json where key = '${shardKey}'`,
    database,
  );
}

/** A fresh database, a dc1 worker, and a distributed run of h1 that ended ok (h1 ran once). */
async function finishedRunOfH1(name: string) {
  const database = await freshDatabase();
  const dc1 = await startWorker('dc1');
  const dir = await markerDir(name);
  const file = await approved(name, dir, 0, 'h1');
  const r = await finished(team.submit(['run', file, '--distribute', '--json']));
  expect(r.code, r.stderr).toBe(0);
  const { runId } = JSON.parse(r.stdout) as RunDoc;
  expect(await runsOf(dir, 'h1')).toBe(1);
  return { database, dc1, dir, file, runId };
}

/**
 * A shard job for dc1's workers added straight to the queue, as someone who may write the
 * database would: run `runId`'s approval (the file's bytes), saying it is for `zone`.
 */
async function queueDc1Job(
  database: string,
  job: { runId: string; shard: number; zone: string; hosts: string[]; approvalFile: string },
): Promise<void> {
  const approval = (await readFile(job.approvalFile)).toString('base64');
  await pg.psql(
    `select graphile_worker.add_job('opsbook.shard.dc1', json_build_object('version', 1, 'runId', '${job.runId}', 'shard', ${job.shard}, 'zone', '${job.zone}', 'hosts', '${JSON.stringify(job.hosts)}'::json, 'approval', '${approval}')::json, max_attempts => 1)`,
    database,
  );
}

describe('opsbook run --distribute', () => {
  it('runs each host once, on the worker of its zone, in one journal that verifies', async () => {
    await freshDatabase();
    const dc1 = await startWorker('dc1');
    const dc2 = await startWorker('dc2');
    const dir = await markerDir('two-zones');
    const file = await approved('two-zones', dir, 0);
    const run = team.submit(['run', file, '--distribute', '--shard-size', '1', '--json']);
    const r = await finished(run);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('ok');
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h2', 'ok'],
      ['h3', 'ok'],
      ['h4', 'ok'],
    ]);
    for (const h of world.hostNames) expect(await runsOf(dir, h)).toBe(1);
    // Each worker ran the hosts of its own zone, and only those.
    for (const h of ['h1', 'h2']) {
      expect(dc1.stderr()).toContain(`${h} ok`);
      expect(dc2.stderr()).not.toContain(`${h} ok`);
    }
    for (const h of ['h3', 'h4']) {
      expect(dc2.stderr()).toContain(`${h} ok`);
      expect(dc1.stderr()).not.toContain(`${h} ok`);
    }
    const verify = await world.opsbook(['journal', 'verify', doc.runId], { env: team.dbEnv });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`✓ ${doc.runId}  intact (complete`);
    const list = await world.opsbook(['runs', 'list', '--json'], { env: team.dbEnv });
    const runs = (JSON.parse(list.stdout) as { runs: { runId: string; status: string }[] }).runs;
    expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('ok');
  });

  it("runs with the submitter and workers connected as the runners' role that opsbook db grant-runner granted", async () => {
    const database = await freshDatabase();
    const role = `distribute_runner_${process.pid}`;
    await pg.psql(`create role ${role} login password 'runner-pw'`);
    const granted = await world.opsbook(['db', 'grant-runner', role], { env: team.dbEnv });
    expect(granted.code, granted.stderr).toBe(0);
    // From here on every command connects as the runners' role, not the tables' owner.
    team.dbEnv = {
      OPSBOOK_DATABASE_URL: `postgres://${role}:runner-pw@${pg.host}:${pg.port}/${database}`,
    };
    await startWorker('dc1');
    await startWorker('dc2');
    const dir = await markerDir('runner-role');
    const file = await approved('runner-role', dir, 0);
    const r = await finished(
      team.submit(['run', file, '--distribute', '--shard-size', '1', '--json']),
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual(world.hostNames.map((h) => [h, 'ok']));
    for (const h of world.hostNames) expect(await runsOf(dir, h)).toBe(1);
    const verify = await world.opsbook(['journal', 'verify', doc.runId], { env: team.dbEnv });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(
      await pg.psql(
        `select has_table_privilege('${role}', 'opsbook_journal_lines', 'DELETE')`,
        database,
      ),
    ).toBe('f\n');
  });

  it('reports the hosts of a worker killed mid-shard as unreachable, never runs them again, and exits non-zero', async () => {
    await freshDatabase();
    const dc1 = await startWorker('dc1');
    await startWorker('dc2');
    const dir = await markerDir('killed');
    const file = await approved('killed', dir, 20, 'h1:h3');
    const run = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(
      () => exists(path.join(dir, 'h1.runs')) && exists(path.join(dir, 'h3.runs')),
      'h1 and h3 to start',
    );
    dc1.child.kill('SIGKILL');
    const r = await finished(run);
    expect(r.stderr).toContain('its worker stopped mid-shard');
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(r.code).toBe(4);
    expect(doc.status).toBe('unreachable');
    const h1 = doc.hosts.find((h) => h.host === 'h1');
    expect(h1).toMatchObject({ status: 'unreachable' });
    expect(h1?.error).toMatch(/state is unknown, and opsbook did not run it again/);
    expect(doc.hosts.find((h) => h.host === 'h3')).toMatchObject({ status: 'ok' });
    // A new dc1 worker finds nothing to do: the shard is never tried again.
    const again = await startWorker('dc1');
    await new Promise((res) => setTimeout(res, 2500));
    expect(again.stderr()).not.toContain('job ');
    expect(await runsOf(dir, 'h1')).toBe(1);
    expect(await runsOf(dir, 'h3')).toBe(1);
    const verify = await world.opsbook(['journal', 'verify', doc.runId], { env: team.dbEnv });
    expect(verify.code, verify.stdout).toBe(0);
    const list = await world.opsbook(['runs', 'list', '--json'], { env: team.dbEnv });
    const runs = (JSON.parse(list.stdout) as { runs: { runId: string; status: string }[] }).runs;
    expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('unreachable');
  });

  it('refuses a shard a worker takes after its submitter was killed (nobody would follow or end the run), touching no host', async () => {
    const database = await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('submitter-killed');
    const file = await approved('submitter-killed', dir, 0, 'h1:h3');
    const run = team.submit(['run', file, '--distribute', '--json']);
    await dc2ShardKey(database);
    await waitFor(() => exists(path.join(dir, 'h1.after')), 'h1 to end on dc1');
    run.child.kill('SIGKILL');
    await finished(run).catch(() => undefined);
    const dc2 = await startWorker('dc2');
    await waitFor(() => dc2.stderr().includes('SHARD_REFUSED'), 'the dc2 worker to take the shard');
    expect(dc2.stderr()).toMatch(
      /SHARD_REFUSED: .*the run's submitter is gone \(opsbook run --distribute was stopped\): nobody follows or ends this run/,
    );
    expect(await runsOf(dir, 'h3')).toBe(0);
    expect(await runsOf(dir, 'h1')).toBe(1);
  });

  it('completes a run while PostgreSQL restarts, nothing lost or doubled', async () => {
    await freshDatabase();
    await startWorker('dc1');
    await startWorker('dc2');
    const dir = await markerDir('restart');
    // A step longer than the 10 s after which a free lease means a dead worker: the workers
    // must take their leases back as soon as the server is back, not at their next event.
    const file = await approved('restart', dir, 14);
    const run = team.submit(['run', file, '--distribute', '--shard-size', '1', '--json']);
    await waitFor(
      async () => (await readdir(dir)).filter((f) => f.endsWith('.runs')).length === 4,
      'every host to start',
    );
    await pg.restart({ downMs: 2000 });
    const r = await finished(run);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('ok');
    for (const h of world.hostNames) {
      expect(await runsOf(dir, h)).toBe(1);
      expect(exists(path.join(dir, `${h}.after`))).toBe(true);
    }
    const verify = await world.opsbook(['journal', 'verify', doc.runId, '--json'], {
      env: team.dbEnv,
    });
    expect(verify.code, verify.stdout).toBe(0);
    const show = await world.opsbook(['runs', 'show', doc.runId, '--json'], { env: team.dbEnv });
    const shown = JSON.parse(show.stdout) as { events?: { type: string }[] };
    if (shown.events) expect(shown.events.filter((e) => e.type === 'host-end')).toHaveLength(4);
  });

  it('refuses a job whose hosts were changed in the queue table, touching no host', async () => {
    const database = await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('tampered');
    // Approved for h1 (dc1) and h3 (dc2); h4 is in the inventory but not approved.
    const file = await approved('tampered', dir, 0, 'h1:h3');
    const run = team.submit(['run', file, '--distribute', '--json']);
    await giveDc2ShardHostH4(database);
    const dc2 = await startWorker('dc2');
    const r = await finished(run);
    expect(dc2.stderr()).toMatch(
      /refused: SHARD_REFUSED: .*hosts h4 are not hosts of the approved run/,
    );
    expect(r.stderr).toContain('was refused by its worker');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h3', 'not-started'],
    ]);
    expect(await runsOf(dir, 'h1')).toBe(1);
    expect(await runsOf(dir, 'h3')).toBe(0);
    expect(await runsOf(dir, 'h4')).toBe(0);
  });

  it("ends the run when journaling a refused shard's hosts fails once (the lease is let go and taken again, not waited on for ever)", async () => {
    const database = await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('takeover-retried');
    const file = await approved('takeover-retried', dir, 0, 'h1:h3');
    // The first line the submitter writes for the refused shard fails (a sequence is not rolled
    // back with the insert, so the second try passes).
    await pg.psql(
      `create sequence takeover_fails;
       create function fail_first_takeover() returns trigger language plpgsql as $$
       begin
         if new.line like '%its worker refused%' and nextval('takeover_fails') = 1 then
           raise exception 'injected: the first take-over line fails';
         end if;
         return new;
       end $$;
       create trigger fail_first_takeover before insert on opsbook_journal_lines
         for each row execute function fail_first_takeover()`,
      database,
    );
    const run = team.submit(['run', file, '--distribute', '--json']);
    await giveDc2ShardHostH4(database);
    await startWorker('dc2');
    const r = await finished(run);
    expect(await pg.psql('select last_value from takeover_fails', database)).toMatch(/^\s*2\s*$/m);
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h3', 'not-started'],
    ]);
    expect(await runsOf(dir, 'h3')).toBe(0);
  });

  it('refuses a job for a host of a run whose journal was rewritten in the database (UPDATE only), touching no host', async () => {
    const { database, dc1, dir, file, runId } = await finishedRunOfH1('rewritten');
    // Someone who may UPDATE the tables (no DELETE) makes the ended run look unended and h1
    // unstarted, then queues a shard job for h1 with the run's own approval. The tables are
    // append-only for the runner's role: a superuser's session switches the triggers off.
    await pg.psql(
      `set session_replication_role = replica;
       update opsbook_runs set ended_at = null, status = null, head = null, event_count = null, reached = null where run_id = '${runId}';
       update opsbook_journal_lines set line = replace(line, '"host":"h1"', '"host":"ghost"') where run_id = '${runId}';
       update opsbook_journal_lines set line = replace(line, '"type":"run-end"', '"type":"run-xend"') where run_id = '${runId}'`,
      database,
    );
    await queueDc1Job(database, {
      runId,
      shard: 7,
      zone: 'dc1',
      hosts: ['h1'],
      approvalFile: file,
    });
    await waitFor(() => dc1.stderr().includes('SHARD_REFUSED'), 'the worker to take the job');
    expect(dc1.stderr()).toMatch(/SHARD_REFUSED: .*the run's journal does not verify/);
    expect(await runsOf(dir, 'h1')).toBe(1);
  });

  it('refuses a replay of a finished run whose journal a database writer cut back (DELETE), touching no host again', async () => {
    const { database, dc1, dir, file, runId } = await finishedRunOfH1('cut-back');
    // A writer who may DELETE cuts the journal back to before h1 started: a prefix of a hash
    // chain still verifies, and the run looks open with h1 unstarted. (A superuser's session,
    // past the append-only triggers.)
    await pg.psql(
      `set session_replication_role = replica;
       delete from opsbook_journal_lines where run_id = '${runId}' and seq >= (select min(seq) from opsbook_journal_lines where run_id = '${runId}' and line like '%"host":"h1"%');
       update opsbook_runs set ended_at = null, status = null, head = null, event_count = null, reached = null where run_id = '${runId}'`,
      database,
    );
    await queueDc1Job(database, {
      runId,
      shard: 7,
      zone: 'dc1',
      hosts: ['h1'],
      approvalFile: file,
    });
    await waitFor(() => dc1.stderr().includes('SHARD_REFUSED'), 'the worker to take the job');
    expect(dc1.stderr()).toMatch(/SHARD_REFUSED: .*host h1 already ran in run \S+ on this worker/);
    expect(await runsOf(dir, 'h1')).toBe(1);
  });

  it("refuses a job that gives a worker hosts of another zone, touching no host; the zone's own worker runs them", async () => {
    const database = await freshDatabase();
    const dc1 = await startWorker('dc1');
    const dir = await markerDir('other-zone');
    const file = await approved('other-zone', dir, 0, 'h1:h3');
    const run = team.submit(['run', file, '--distribute', '--json']);
    await dc2ShardKey(database);
    const runId = (
      await pg.psql('select run_id from opsbook_runs order by run_id desc limit 1', database)
    ).trim();
    // h3 is in dc2: a job for dc1's workers that names it (its zone told as dc1, then as dc2).
    for (const [shard, zone] of [
      [7, 'dc1'],
      [8, 'dc2'],
    ] as const)
      await queueDc1Job(database, { runId, shard, zone, hosts: ['h3'], approvalFile: file });
    await waitFor(
      () => dc1.stderr().split('SHARD_REFUSED').length > 2,
      'the dc1 worker to refuse both jobs',
    );
    expect(dc1.stderr()).toMatch(/SHARD_REFUSED: .*host h3 is in zone dc2, not dc1/);
    expect(dc1.stderr()).toMatch(
      /SHARD_REFUSED: .*the job is for zone dc2, and this worker serves dc1/,
    );
    expect(await runsOf(dir, 'h3')).toBe(0);
    await startWorker('dc2');
    const r = await finished(run);
    expect(r.code, r.stderr).toBe(0);
    expect(await runsOf(dir, 'h3')).toBe(1);
    expect(await runsOf(dir, 'h1')).toBe(1);
  });

  it('refuses a job whose approval was swapped in the queue for another valid one, touching no host', async () => {
    const database = await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('swapped');
    const file = await approved('swapped', dir, 0, 'h1:h3');
    // A valid approval of the same runbook, for h4 only: it must not ride on this run's claim.
    const other = await approved('swapped-other', dir, 0, 'h4');
    const otherBytes = (await readFile(other)).toString('base64');
    const run = team.submit(['run', file, '--distribute', '--json']);
    const shardKey = await dc2ShardKey(database);
    await pg.psql(
      `update graphile_worker._private_jobs set payload = jsonb_set(jsonb_set(payload::jsonb, '{hosts}', '["h4"]'), '{approval}', '"${otherBytes}"')::json where key = '${shardKey}'`,
      database,
    );
    const dc2 = await startWorker('dc2');
    const r = await finished(run);
    expect(dc2.stderr()).toMatch(/refused: SHARD_REFUSED: .*the approval is \S+, not the run's/);
    expect(r.code).toBe(1);
    expect(await runsOf(dir, 'h3')).toBe(0);
    expect(await runsOf(dir, 'h4')).toBe(0);
  });

  it('on Ctrl-C withdraws the shards no worker took (not-started, never run later) and exits 130', async () => {
    await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('interrupted');
    const file = await approved('interrupted', dir, 0, 'h1:h3');
    const run = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(() => exists(path.join(dir, 'h1.after')), 'h1 to run on the dc1 worker');
    run.child.kill('SIGINT');
    const r = await finished(run);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('withdrawn: no worker had taken it');
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h3', 'not-started'],
    ]);
    const late = await startWorker('dc2');
    await new Promise((res) => setTimeout(res, 2500));
    expect(late.stderr()).not.toContain('job ');
    expect(await runsOf(dir, 'h3')).toBe(0);
  });

  it('on a second Ctrl-C stops waiting at once, saying truly that the workers finish their shards', async () => {
    await freshDatabase();
    await startWorker('dc1');
    const dir = await markerDir('second-signal');
    const file = await approved('second-signal', dir, 20, 'h1');
    const run = team.submit(['run', file, '--distribute']);
    await waitFor(() => exists(path.join(dir, 'h1.runs')), 'h1 to start on the dc1 worker');
    run.child.kill('SIGINT');
    await waitFor(() => run.stderr().includes('interrupted:'), 'the first Ctrl-C to be told');
    // A worker runs the shard: nothing here stops its steps, and the message must not say so.
    expect(run.stderr()).toContain(
      'the shards no worker has taken are withdrawn; the workers finish the shards they run, their later steps included',
    );
    expect(run.stderr()).not.toContain('no new step or host will start');
    run.child.kill('SIGINT');
    const r = await finished(run);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(
      'stopped waiting: the workers finish the shards they run on their own',
    );
    // It did not wait for the shard: the 20 s step had not ended when it exited.
    expect(exists(path.join(dir, 'h1.slept'))).toBe(false);
    await waitFor(() => exists(path.join(dir, 'h1.after')), 'the worker to finish its shard');
    expect(await runsOf(dir, 'h1')).toBe(1);
  }, 120_000);

  it("takes secret params from each worker's own environment, never from the queue, and masks them", async () => {
    const database = await freshDatabase();
    const token = `tok-${randomBytes(8).toString('hex')}`;
    await startWorker('dc1', { OPSBOOK_PARAM_TOKEN: token });
    await startWorker('dc2', { OPSBOOK_PARAM_TOKEN: token });
    const dir = await markerDir('secret');
    const file = await approvedFile(world, 'secret-token', 'secret.json', [world.people.alice], {
      params: { dir },
      target: 'h1:h3',
      env: { ...team.dbEnv, OPSBOOK_PARAM_TOKEN: 'placeholder-token' },
    });
    // The submitter has no token at all: it never needs one, and so can never queue one.
    const r = await finished(team.submit(['run', file, '--distribute', '--json']));
    expect(r.code, r.stderr).toBe(0);
    const sha = createHash('sha256').update(token).digest('hex');
    for (const h of ['h1', 'h3'])
      expect((await readFile(path.join(dir, `${h}.token-sha256`), 'utf8')).trim()).toBe(sha);
    const stored = await pg.psql('select line from opsbook_journal_lines', database);
    expect(stored).toContain('token is ***');
    expect(stored).not.toContain(token);
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  it('runs the approval a ticket carries on the workers as well (ticket run --distribute), and moves the ticket to In Review', async () => {
    await freshDatabase();
    const dc1 = await startWorker('dc1');
    const dc2 = await startWorker('dc2');
    const dir = await markerDir('ticket-run');
    const key = await createTicket(world);
    const file = await approvedFile(world, 'counted', 'ticket-run.json', [world.people.alice], {
      params: { dir, seconds: '0' },
      ticket: key,
      env: team.dbEnv,
    });
    const tracker = await trackerOf(world);
    await tracker.setProperty(key, 'opsbook.approval', {
      approvalId: statementOf(await readEnvelope(file)).id,
      envelope: await readFile(file, 'utf8'),
      signers: [world.people.alice.id],
      complete: true,
    });
    const run = team.submit(['ticket', 'run', key, '--distribute', '--shard-size', '2', '--json']);
    const r = await finished(run);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h2', 'ok'],
      ['h3', 'ok'],
      ['h4', 'ok'],
    ]);
    for (const h of world.hostNames) expect(await runsOf(dir, h)).toBe(1);
    expect(dc1.stderr()).toContain(`run ${doc.runId}`);
    expect(dc2.stderr()).toContain(`run ${doc.runId}`);
    expect((await tracker.get(key)).status).toBe(tracker.statuses.review);
  });

  it('retries only the hosts that did not end ok (--retry-failed); a run that reached no host uses no run, on the workers too', async () => {
    await freshDatabase();
    await startWorker('dc2');
    const dir = await markerDir('retry');
    const file = await approvedFile(world, 'counted', 'retry.json', [world.people.alice], {
      params: { dir, seconds: '0' },
      target: 'h3:h4',
      extra: ['--max-runs', '2'],
      env: team.dbEnv,
    });
    const [h3, h4] = [world.hosts[2]!, world.hosts[3]!];
    const distributed = async (...extra: string[]) => {
      const run = team.submit(['run', file, '--distribute', '--json', ...extra]);
      const r = await finished(run);
      return { ...r, doc: JSON.parse(r.stdout) as RunDoc & Record<string, unknown> };
    };
    await h3.stop();
    await h4.stop();
    try {
      // Both hosts down: no step started, so this run does not use one of the two.
      const none = await distributed();
      expect(none.code, none.stderr).toBe(4);
      expect(none.doc.approvalUse).toEqual({ used: false, runsLeft: 2 });
      await h3.restart();
      const some = await distributed('--retry-failed', none.doc.runId);
      expect(some.doc.hosts.map((h) => [h.host, h.status])).toEqual([
        ['h3', 'ok'],
        ['h4', 'unreachable'],
      ]);
      expect(some.doc).toMatchObject({
        retryOf: none.doc.runId,
        approvalUse: { used: true, runsLeft: 1 },
      });
      await h4.restart();
      // The worker counts one run before this one (the unreached run is not one): it runs h4.
      const last = await distributed('--retry-failed', some.doc.runId);
      expect(last.code, last.stderr).toBe(0);
      expect(last.doc.hosts.map((h) => [h.host, h.status])).toEqual([['h4', 'ok']]);
      expect(last.doc.approvalUse).toEqual({ used: true, runsLeft: 0 });
      expect([await runsOf(dir, 'h3'), await runsOf(dir, 'h4')]).toEqual([1, 1]);
    } finally {
      for (const h of [h3, h4]) if (!h.pid) await h.restart();
    }
  });

  it('is a usage error without a PostgreSQL state store', async () => {
    const dir = await markerDir('files-store');
    const file = await approvedFile(world, 'counted', 'files.json', [world.people.alice], {
      params: { dir },
    });
    const r = await world.opsbook(['run', file, '--distribute']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--distribute needs the team's PostgreSQL state store: set state:/);
    expect(await readdir(dir)).toEqual([]);
    const ticket = await world.opsbook(['ticket', 'run', 'OPS-1', '--distribute']);
    expect(ticket.code).toBe(2);
    expect(ticket.stderr).toMatch(/--distribute needs the team's PostgreSQL state store/);
    const size = await world.opsbook(['ticket', 'run', 'OPS-1', '--shard-size', '3']);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--shard-size goes with --distribute');
  });
});
