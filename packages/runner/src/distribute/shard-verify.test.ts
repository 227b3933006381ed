import { migrateStateStore, postgresStore, SharedJournal } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardJob } from './shard-job.js';
import { checkSubmitter } from './shard-verify.js';
import { shardLease, submitterLease } from './shards.js';

/*
 * A worker runs a shard only while the run's submitter follows it: the session the submitter
 * recorded as its own holds the run's submitter lease. Any role of the database may take an
 * advisory lock of the same name; such a session is not the submitter.
 */

let server: Postgres;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});

const job: ShardJob = {
  version: 1,
  runId: 'r1',
  shard: 0,
  zone: 'dc1',
  hosts: ['h1'],
  approval: '',
};

/** A role of the server (not a superuser, no pg_read_all_stats) and its url for `database`. */
async function role(name: string, database: string, grants = false): Promise<string> {
  const password = 'role-pw';
  await server.psql(`create role "${name}" login password '${password}'`);
  if (grants)
    await server.psql(
      `grant all on all tables in schema public to "${name}";
       grant all on all sequences in schema public to "${name}"`,
      database,
    );
  return `postgres://${encodeURIComponent(name)}:${password}@${server.host}:${server.port}/${database}`;
}

/** What a refusal names of session `pid` past its role and application: client and start. */
async function clientAndStart(url: string, pid: number): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ address: string; port: number; start: Date }>(
      'select host(client_addr) as address, client_port as port, backend_start as start from pg_stat_activity where pid = $1',
      [pid],
    );
    const [r] = rows;
    return `, client ${r!.address}:${r!.port}, connected since ${r!.start.toISOString()}`;
  } finally {
    await client.end();
  }
}

/** A migrated database with run r1 claimed and its journal started by its submitter. */
async function distributedRun() {
  const name = `opsbook_shard_verify_${process.pid}_${++databases}`;
  await server.psql(`create database ${name}`);
  const url = `postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`;
  await migrateStateStore(url);
  const store = postgresStore({ url });
  await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: job.runId, ticket: 'OPS-7' });
  await store.close();
  const submitter = await SharedJournal.create({
    url,
    runId: job.runId,
    lease: submitterLease(job.runId),
    isSubmitter: true,
  });
  await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['h1'] });
  const worker = await SharedJournal.join({
    url,
    runId: job.runId,
    lease: shardLease(job.runId, job.shard),
  });
  return { url, name, submitter, worker };
}

/** A session of the database's own, not opsbook's, that takes the advisory lock `lease`. */
async function foreignSession(url: string, lease: string, application = 'psql') {
  const client = new pg.Client({ connectionString: url, application_name: application });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`select pg_advisory_lock(('x' || left(md5($1), 16))::bit(64)::bigint)`, [
    lease,
  ]);
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return { client, pid: rows[0]!.pid };
}

/** Waits until no session holds an advisory lock on `database` (a closed session lets go). */
async function locksReleased(database: string, keep: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const held = await server.psql(
      "select count(*) from pg_locks where locktype = 'advisory' and granted",
      database,
    );
    if (Number(held.trim()) <= keep) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('checkSubmitter', () => {
  it('accepts a shard while the run is followed by its submitter', async () => {
    const { submitter, worker } = await distributedRun();
    await expect(checkSubmitter(job, worker, 500)).resolves.toBeUndefined();
    await worker.close();
    await submitter.close();
  });

  it('refuses a shard whose submitter is gone', async () => {
    const { name, submitter, worker } = await distributedRun();
    await submitter.close();
    await locksReleased(name, 1);
    await expect(checkSubmitter(job, worker, 500)).rejects.toMatchObject({
      code: 'SHARD_REFUSED',
      message: expect.stringMatching(/the run's submitter is gone/),
    });
    await worker.close();
  });

  it("refuses a shard whose submitter is gone while another session holds the submitter's lease, naming that session", async () => {
    const { url, name, submitter, worker } = await distributedRun();
    await submitter.close();
    await locksReleased(name, 1);
    // Any role may take an advisory lock of that name: it does not make that session the submitter.
    // A role of its own, with no privilege on any table of the store: a role name is whoever
    // made it's to choose, and is kept on the refusal's line.
    const stranger = await role('mallory\nshard 0 accepted', name);
    const foreign = await foreignSession(stranger, submitterLease(job.runId));
    const error = await checkSubmitter(job, worker, 1000).catch((e) => e);
    expect(error).toMatchObject({ code: 'SHARD_REFUSED' });
    expect(error.message).toBe(
      `shard 0 of run r1 refused: the run's submitter is gone (opsbook run --distribute was stopped): a session that is not the run's submitter holds its lease (pid ${foreign.pid}, user mallory\\x0ashard 0 accepted, application 'psql'${await clientAndStart(url, foreign.pid)}): nobody follows or ends this run; no host was touched`,
    );
    await foreign.client.end();
    await worker.close();
  });

  it("refuses a shard whose submitter's session ended and whose pid a stranger's session got", async () => {
    // What pid reuse does: the recorded pid is the stranger's now, its session started later.
    const { url, name, submitter, worker } = await distributedRun();
    await submitter.close();
    await locksReleased(name, 1);
    const foreign = await foreignSession(url, submitterLease(job.runId));
    await server.psql(`update opsbook_run_submitters set pid = ${foreign.pid}`, name);
    await expect(checkSubmitter(job, worker, 500)).rejects.toMatchObject({
      code: 'SHARD_REFUSED',
      message: expect.stringContaining(
        `a session that is not the run's submitter holds its lease (pid ${foreign.pid}, user ${server.user}, application 'psql'${await clientAndStart(url, foreign.pid)})`,
      ),
    });
    await foreign.client.end();
    await worker.close();
  });

  it("accepts a shard on a worker whose role is not the submitter's (pg_stat_activity hides the submitter's session start from it)", async () => {
    const { name, submitter, worker: other } = await distributedRun();
    await other.close();
    const workerUrl = await role('opsbook_worker', name, true);
    const worker = await SharedJournal.join({
      url: workerUrl,
      runId: job.runId,
      lease: shardLease(job.runId, job.shard),
    });
    // What this worker's role sees of the submitter's session: no backend_start.
    const look = new pg.Client({ connectionString: workerUrl });
    await look.connect();
    const { rows } = await look.query(
      `select a.usename, a.backend_start from pg_stat_activity a
         join opsbook_run_submitters s on s.pid = a.pid`,
    );
    await look.end();
    expect(rows).toEqual([{ usename: server.user, backend_start: null }]);
    await expect(checkSubmitter(job, worker, 500)).resolves.toBeUndefined();
    await submitter.close();
    await locksReleased(name, 1);
    await expect(checkSubmitter(job, worker, 500)).rejects.toMatchObject({
      code: 'SHARD_REFUSED',
    });
    await worker.close();
  });

  it('waits for a submitter that takes its lease back after a database restart', async () => {
    const { submitter, worker } = await distributedRun();
    await server.restart({ downMs: 1000 });
    // The submitter's heartbeat reconnects, takes the lease again and records its new session.
    await expect(checkSubmitter(job, worker, 10_000)).resolves.toBeUndefined();
    await worker.close();
    await submitter.close();
  });
});
