import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml } from '@opsbook/testkit/approvers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, expectOk, waitFor, writeRunbook } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import type { RunDoc } from './run-outcome.js';
import { heldRunbook, markerRunbook, slowRunbook } from './runbook-fixtures.js';

/*
 * A team's first day with workers, through the real binary on a real PostgreSQL and sshd hosts:
 * the mistakes a newcomer makes when starting `opsbook worker` must each say, in one line, what
 * to do: a worker whose checkout is not the one the run was approved from, and a worker started
 * for a zone none of its inventory's hosts is in.
 */

let team: DistributedTeam;

beforeAll(async () => {
  team = await DistributedTeam.start({
    marker: markerRunbook(),
    slow: slowRunbook,
    held: heldRunbook,
  });
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  await team?.stopAll();
});

describe('opsbook worker, as a newcomer starts it', () => {
  it("refuses a shard when its checkout is not the approved one, in one line that says to update the worker's checkout (no stack trace, no new approval asked for)", async () => {
    const { world } = team;
    await team.freshDatabase();
    await team.startWorker('dc1');
    // The dc2 runner machine's checkout has another version of the runbook (not pulled yet).
    const stale = await world.createSite('worker-dc2-stale');
    const edited = markerRunbook();
    await writeRunbook(stale.runbooksDir, 'marker', {
      yaml: edited.yaml.replace('Write the host', 'Write down the host'),
    });
    const dc2 = await team.startWorker('dc2', { site: stale });
    const dir = path.join(world.markerDir, 'stale-checkout');
    await mkdir(dir);
    const file = await approvedFile(world, 'marker', 'stale.json', [world.people.alice], {
      params: { dir },
      env: team.dbEnv,
    });
    const r = await team.finished(team.submit(['run', file, '--distribute', '--json']));
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h2', 'ok'],
      ['h3', 'not-started'],
      ['h4', 'not-started'],
    ]);
    expect(exists(path.join(dir, 'h3.ran'))).toBe(false);
    const said = new RegExp(
      `the approval does not verify on this worker \\(DIGEST_MISMATCH: the runbook changed since approval \\(digest sha256:[0-9a-f]+… ≠ sha256:[0-9a-f]+…\\)\\): this worker's checkout is not the one the run was approved from; bring its runbooks and inventory to the submitter's, then retry these hosts with --retry-failed ${doc.runId} if the approval has a run left \\(opsbook run says at its end; with none left, a senior approves them again\\) \\(the approval itself is fine\\); no host was touched`,
    );
    expect(r.stderr).toMatch(said);
    expect(r.stderr).not.toContain('ask a senior to re-approve');
    await waitFor(() => dc2.stderr().includes('refused'), 'the dc2 worker to say why');
    const lines = dc2.stderr().trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('SHARD_REFUSED'))).toHaveLength(1);
    expect(dc2.stderr()).toMatch(said);
    expect(dc2.stderr()).not.toMatch(stackTrace);
    expect(dc2.stderr()).not.toContain('Failed task');
  });

  it("refuses a shard when the worker's trust pin lacks the engineer who runs, saying to pin the team's approvers.yaml there (not to run with another key)", async () => {
    const { world } = team;
    await team.freshDatabase();
    await team.startWorker('dc1');
    // The dc2 runner machine pinned approvers.yaml before grace, the engineer, was added.
    const behind = await world.createSite('worker-dc2-old-pin');
    const p = world.people;
    await writeFile(
      behind.trustStoreFile,
      approversYaml([
        { id: 'alice', name: 'Alice Senior', roles: ['senior'], keys: [p.alice.publicLine] },
        { id: 'bob', name: 'Bob Senior', roles: ['senior'], keys: [p.bob.publicLine] },
      ]),
    );
    await rm(behind.trustPinDir, { recursive: true });
    await expectOk(behind.opsbook(['trust', 'init']), 'trust init on the dc2 machine');
    const dc2 = await team.startWorker('dc2', { site: behind });
    const dir = path.join(world.markerDir, 'old-pin');
    await mkdir(dir);
    const file = await approvedFile(world, 'marker', 'old-pin.json', [world.people.alice], {
      params: { dir },
      env: team.dbEnv,
    });
    const r = await team.finished(team.submit(['run', file, '--distribute', '--json']));
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'not-started', 'not-started']);
    const said = new RegExp(
      `the run claim does not verify \\(EXECUTOR_UNTRUSTED: the key SHA256:\\S+ that signed it is not in the trust store \\(\\S+ version 1\\)\\): this worker's trust pin is not the submitter's, which lists that key; pin the team's current approvers\\.yaml on this worker \\(opsbook trust init, --force for a newer version\\), then retry these hosts with --retry-failed ${doc.runId} if the approval has a run left \\(opsbook run says at its end; with none left, a senior approves them again\\); no host was touched`,
    );
    expect(r.stderr).toMatch(said);
    expect(r.stderr).not.toContain('run with your own listed key');
    await waitFor(() => dc2.stderr().includes('refused'), 'the dc2 worker to say why');
    expect(dc2.stderr()).toMatch(said);
    expect(dc2.stderr()).not.toMatch(stackTrace);
  });

  it('exits 130 on Ctrl-C, as every interrupted command does, and 0 on SIGTERM (a service stop)', async () => {
    await team.freshDatabase();
    const interrupted = await team.startWorker('dc1');
    interrupted.child.kill('SIGINT');
    expect((await interrupted.done).code).toBe(130);
    const stopped = await team.startWorker('dc1');
    stopped.child.kill('SIGTERM');
    const r = await stopped.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('stopping: no new shard or step starts');
  });

  /** A slow run whose dc1 worker is stopped (Ctrl-C) mid-shard: the submitter's result. */
  async function stopWorkerMidShard(name: string, extra: string[] = []) {
    const { world } = team;
    await team.freshDatabase();
    const dc1 = await team.startWorker('dc1');
    await team.startWorker('dc2');
    const dir = path.join(world.markerDir, name);
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', `${name}.json`, [world.people.alice], {
      params: { dir, seconds: '3' },
      env: team.dbEnv,
      extra,
    });
    const run = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'h1 to start');
    dc1.child.kill('SIGINT');
    const r = await team.finished(run);
    expect((await dc1.done).code).toBe(130);
    return { r, doc: JSON.parse(r.stdout) as RunDoc, file };
  }
  const stopped =
    "its worker was stopped (Ctrl-C or SIGTERM on the worker's machine) before this host's next step";

  it('says why a host is cancelled when its worker is stopped mid-shard (Ctrl-C on the worker), and how to retry it while the approval has runs left', async () => {
    const { r, doc } = await stopWorkerMidShard('worker-stopped', ['--max-runs', '2']);
    const why = `${stopped}: retry it with --retry-failed ${doc.runId} (1 run(s) of the approval left)`;
    expect(doc.hosts.map((h) => [h.host, h.status, h.error])).toEqual([
      ['h1', 'cancelled', why],
      ['h2', 'cancelled', why],
      ['h3', 'ok', undefined],
      ['h4', 'ok', undefined],
    ]);
    expect(r.stderr).toContain(`[h1] cancelled: ${why}`);
  });

  it("says a senior must approve again, not to retry, when the stopped run used the approval's last run (maxRuns: 1), and the retry is indeed refused", async () => {
    const { r, doc, file } = await stopWorkerMidShard('worker-stopped-last');
    const why = `${stopped}: this run used the last of its approval's 1 run(s), so --retry-failed would be refused (RUNS_EXHAUSTED): ask a senior for a new approval of the hosts that did not end ok`;
    expect(doc.hosts.map((h) => [h.host, h.status, h.error])).toEqual([
      ['h1', 'cancelled', why],
      ['h2', 'cancelled', why],
      ['h3', 'ok', undefined],
      ['h4', 'ok', undefined],
    ]);
    expect(r.stderr).toContain(`[h1] cancelled: ${why}`);
    expect(r.stderr).not.toContain('retry it with');
    await team.startWorker('dc1');
    const retry = await team.finished(
      team.submit(['run', file, '--distribute', '--retry-failed', doc.runId]),
    );
    expect(retry.code).toBe(3);
    expect(retry.stderr).toContain('RUNS_EXHAUSTED');
  });

  it("says, of a shard that waits, that no worker of its zone is connected to the run's database (a worker pointed at another one), and what to check", async () => {
    const { world } = team;
    const stray = await team.freshDatabase();
    // The dc2 machine's worker runs on another database than the submitter's.
    await team.startWorker('dc2');
    const database = await team.freshDatabase();
    expect(database).not.toBe(stray);
    await team.startWorker('dc1');
    const dir = path.join(world.markerDir, 'other-database');
    await mkdir(dir);
    const file = await approvedFile(world, 'marker', 'other-database.json', [world.people.alice], {
      params: { dir },
      env: team.dbEnv,
    });
    const run = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(() => run.stderr().includes('waits for a worker'), 'the dc2 shard to wait');
    run.child.kill('SIGINT');
    const r = await team.finished(run);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(
      new RegExp(
        `shard \\d+ \\(zone dc2, 2 host\\(s\\)\\) waits for a worker: no opsbook worker --zone dc2 is connected to postgres://\\S+/${database}; start one, or check that its opsbook\\.yaml state url \\(or OPSBOOK_DATABASE_URL\\) names this same database`,
      ),
    );
    expect(r.stderr).not.toContain('zone dc1, 2 host(s)) waits');
    expect(await exists(path.join(dir, 'h3.ran'))).toBe(false);
  });

  it("says, of a shard that waits while its zone's worker is busy, that the workers are busy (not to check the database)", async () => {
    const { world } = team;
    await team.freshDatabase();
    await team.startWorker('dc1');
    await team.startWorker('dc2');
    const dir = path.join(world.markerDir, 'busy');
    await mkdir(dir);
    // h1's shard holds its zone's worker until the test has seen the other shard wait (the
    // notice comes after 10 s queued): a shard of 14 s was over first on a loaded machine.
    const held = await approvedFile(world, 'held', 'busy-held.json', [world.people.alice], {
      params: { dir },
      target: 'h1',
      env: team.dbEnv,
    });
    const first = team.submit(['run', held, '--distribute', '--json']);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'h1 to start');
    const file = await approvedFile(world, 'marker', 'busy-next.json', [world.people.alice], {
      params: { dir },
      target: 'h2',
      env: team.dbEnv,
    });
    const next = team.submit(['run', file, '--distribute', '--json']);
    await waitFor(() => next.stderr().includes('waits for a worker'), 'the h2 shard to wait');
    expect(next.stderr()).toMatch(
      /shard \d+ \(zone dc1, 1 host\(s\)\) waits for a worker: the workers of zone dc1 on this database are busy with other shards \(start another opsbook worker --zone dc1 for more\)/,
    );
    expect(next.stderr()).not.toContain('is connected to');
    await writeFile(path.join(dir, 'release'), '');
    expect((await team.finished(first)).code).toBe(0);
    expect((await team.finished(next)).code).toBe(0);
  });

  it('refuses to start on a machine whose trust store is not pinned, saying to pin it (every shard would be refused)', async () => {
    await team.freshDatabase();
    const unpinned = await team.world.createSite('worker-unpinned');
    await rm(unpinned.trustPinDir, { recursive: true });
    const r = await unpinned.opsbook(['worker', '--zone', 'dc1'], { env: team.dbEnv });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^refused \(TRUST_NOT_INITIALISED\): no trust store is pinned on this machine \(\S+\): check \S+approvers\.yaml with your seniors, then pin it as root: sudo opsbook trust init \(OPSBOOK_TRUST_DIR names \S+: if it is set by mistake, unset it to use this machine's pin in \/etc\/opsbook\/trust\)\n$/,
    );
    expect(r.stderr).not.toContain('worker ready');
  });

  it('says a mistyped option (--concurrency 0, an empty --zone) at once (exit 2), before the machine checks, so that it is not found only after pinning the trust store', async () => {
    await team.freshDatabase();
    const unpinned = await team.world.createSite('worker-options');
    await rm(unpinned.trustPinDir, { recursive: true });
    const none = await unpinned.opsbook(['worker', '--zone', 'dc1', '--concurrency', '0'], {
      env: team.dbEnv,
    });
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toBe('error: --concurrency 0 is not a positive whole number\n');
    const empty = await unpinned.opsbook(['worker', '--zone', ''], { env: team.dbEnv });
    expect(empty.code, empty.stderr).toBe(2);
    expect(empty.stderr).toBe(
      "error: --zone '' names no zone: give the zones this worker serves, as the hosts' opsbook_zone names them: --zone dc1 (or --zone default)\n",
    );
    expect(`${none.stderr}${empty.stderr}`).not.toMatch(stackTrace);
  });

  it('warns a worker started for a zone none of its hosts is in, naming the zones there are', async () => {
    await team.freshDatabase();
    const typo = await team.startWorker('dc1', { site: team.sites.dc1, args: ['--zone', 'dc-1'] });
    await waitFor(() => typo.stderr().includes('warning:'), 'the warning');
    expect(typo.stderr()).toMatch(
      /^warning: no host of the inventory \(\S*inventory\.yaml\) is in zone dc-1 \(its zones: dc1, dc2\): no shard will come for this worker; check --zone, or the hosts' opsbook_zone$/m,
    );
    expect(typo.stderr()).toContain('worker ready for zone(s) dc-1');
    const right = await team.startWorker('dc1');
    expect(right.stderr()).not.toContain('warning');
  });
});
