import { statSync } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { childrenOf, resumeAll, stopAll } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, exists, firstCtrlC, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, type RunDoc, readJournal } from './run-outcome.js';
import { dirParam, header, slowRunbook } from './runbook-fixtures.js';

/** A script step (staged on the host, removed from it when the host's work ends) that sleeps. */
const slowScriptRunbook = {
  yaml: `${header('slow-script', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: wait
      name: Wait in a script
      script: scripts/wait.sh
`,
  files: {
    'scripts/wait.sh': `#!/bin/sh
touch "$OPSBOOK_PARAM_DIR/$OPSBOOK_HOST.started"
sleep 300
touch "$OPSBOOK_PARAM_DIR/$OPSBOOK_HOST.done"
`,
  },
};

/** A file backup (tar over SSH, streamed into the runner's repository) of the `dir` folder. */
const frozenBackupRunbook = {
  yaml: `${header('frozen-backup', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: save
      name: Archive the folder (tar over SSH)
      uses: backup.files
      with:
        paths: ["{{ params.dir }}"]
        compression: none
`,
};

/*
 * A second Ctrl-C while one host is frozen (its sshd processes stopped with SIGSTOP, the TCP
 * connection still open, as on a hung machine): the kill goes out on its connection, but nothing
 * there can act on it or answer. The run must not call that command "cancelled and killed" (it
 * may still be running there): the journal, the ticket's comment and what opsbook prints say the
 * kill was not confirmed, while the host that answered has its kill confirmed. And opsbook must
 * exit within its bound rather than wait for the frozen host (its SSH keepalive gives up only
 * after about a minute).
 */

let world: World;
const frozen: number[] = [];
beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: {
      slow: slowRunbook,
      'slow-script': slowScriptRunbook,
      'frozen-backup': frozenBackupRunbook,
    },
  });
});
afterAll(async () => {
  resumeAll(frozen);
  await world?.remove();
});

/** Freezes host `index`: the processes its sshd started (its sessions), stopped at once. */
function freezeHost(index: number): number[] {
  const stopped = stopAll(childrenOf(world.hosts[index]!.pid));
  frozen.push(...stopped);
  return stopped;
}

describe('a second Ctrl-C with a host frozen mid-step', () => {
  it('says the frozen host never confirmed the kill, and exits 130 with the run recorded as interrupted', async () => {
    const dir = path.join(world.markerDir, 'frozen-twice');
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', 'frozen-twice.json', [world.people.alice], {
      params: { dir, seconds: '300' },
      target: 'h1:h2',
    });
    const { ticket } = statementOf(await readEnvelope(file));
    const running = world.spawnOpsbook(['run', file, '--json']);
    await waitFor(
      () => exists(path.join(dir, 'h1.started')) && exists(path.join(dir, 'h2.started')),
      'both hosts to start their step',
    );
    expect(freezeHost(1).length).toBeGreaterThan(0);

    await firstCtrlC(running);
    const t0 = Date.now();
    running.child.kill('SIGINT');
    const r = await running.done;
    // Not a speed check but a hang check, far above the 15 s bound: a process kept alive by the
    // frozen host's connection lived until its SSH keepalive gave up (about a minute).
    expect(Date.now() - t0).toBeLessThan(55_000);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);

    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');
    const journal = await readJournal(doc.journal.path);
    const stepEnd = (host: string) =>
      journal.find((e) => e.type === 'step-end' && e.host === host && e.step === 'first');
    // h1 answered: its kill is confirmed.
    expect(stepEnd('h1')).toMatchObject({ status: 'error' });
    expect(String(stepEnd('h1')!.reason)).toContain('was cancelled and killed');
    // h2 did not: the journal does not call it killed.
    expect(stepEnd('h2')).toMatchObject({ status: 'error' });
    const frozenReason = String(stepEnd('h2')!.reason);
    expect(frozenReason).not.toContain('killed');
    expect(frozenReason).toContain(
      'the kill was sent but not confirmed (host h2 is not answering)',
    );
    expect(frozenReason).toContain('may still be running there');
    expect(frozenReason).toContain('stopped by a second Ctrl-C');
    expect(journal.find((e) => e.type === 'host-end' && e.host === 'h2')).toMatchObject({
      status: 'cancelled',
    });
    expect(String(hostOf(doc, 'h2').error)).toContain('not confirmed');
    expect(journal.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'interrupted',
      hosts: { h1: 'cancelled', h2: 'cancelled' },
    });
    // What the engineer saw, as each step ended.
    expect(r.stderr).toContain('[h2] steps/first error');
    expect(r.stderr).toMatch(/\[h2\] steps\/first error .*not confirmed/);
    expect(r.stderr).toMatch(/\[h1\] steps\/first error .*was cancelled and killed/);
    // And what the ticket was told.
    const shown = await world.opsbook(['ticket', 'show', ticket, '--comments']);
    expect(shown.stdout).toMatch(/h2 steps\/first: error \([^)]*not confirmed/);
    expect(shown.stdout).toMatch(
      /h1 steps\/first: error \(the command on h1 was cancelled and killed/,
    );
    expect((await world.opsbook(['journal', 'verify', doc.runId])).code).toBe(0);
    const list = await world.opsbook(['runs', 'list', '--json']);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('interrupted');
  });

  it('does not wait to remove its staged script from the frozen host: names the file left there and ends the run interrupted (exit 130)', async () => {
    const dir = path.join(world.markerDir, 'frozen-script');
    await mkdir(dir);
    const file = await approvedFile(
      world,
      'slow-script',
      'frozen-script.json',
      [world.people.alice],
      { params: { dir }, target: 'h2' },
    );
    const running = world.spawnOpsbook(['run', file, '--json']);
    await waitFor(() => exists(path.join(dir, 'h2.started')), 'h2 to start its script');
    freezeHost(1);

    await firstCtrlC(running);
    running.child.kill('SIGINT');
    // The removal of the staged script used to wait 30 s for the frozen host, so the 15 s bound
    // ended opsbook with the run incomplete: now the run ends, interrupted, before the bound.
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(
      'stopping now: the commands still running are killed and the run is recorded as interrupted',
    );
    expect(r.stderr).not.toContain('stays incomplete');
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');

    const journal = await readJournal(doc.journal.path);
    const hostEnd = journal.find((e) => e.type === 'host-end' && e.host === 'h2');
    expect(hostEnd).toMatchObject({ status: 'cancelled' });
    const error = String(hostEnd!.error);
    expect(error).toContain(
      'the kill of steps/wait was sent but not confirmed (host h2 is not answering)',
    );
    const left =
      /its staged script file\(s\) (\/\S+)\/[0-9a-f]{12}-wait\.sh were not removed \(host h2 is not answering\) and may be left there: once it answers, remove them with rm -rf -- '?(\/[^' ]+)'?/.exec(
        error,
      );
    expect(left, error).not.toBeNull();
    const [, folder, removeFolder] = left!;
    expect(removeFolder).toBe(folder);
    // It is there indeed (every sshd host shares this machine's filesystem).
    const script = /(\/\S+-wait\.sh)/.exec(error)![1]!;
    expect(exists(script)).toBe(true);
    expect(journal.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'interrupted',
      hosts: { h2: 'cancelled' },
    });
    expect(String(hostOf(doc, 'h2').error)).toContain('were not removed');
    const list = await world.opsbook(['runs', 'list', '--json']);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('interrupted');
    const shown = await world.opsbook(['runs', 'show', doc.runId]);
    expect(shown.stdout).toContain(script);
    expect((await world.opsbook(['journal', 'verify', doc.runId])).code).toBe(0);
    await rm(folder!, { recursive: true, force: true });
  });
});

describe('a second Ctrl-C with a host frozen mid-backup', () => {
  it("says the backup command's kill was not confirmed, keeps nothing of the backup on the runner, and ends the run interrupted (exit 130)", async () => {
    const dir = path.join(world.markerDir, 'frozen-backup');
    await mkdir(dir);
    // 1 GiB that tar must read and send (not zeros: tar --sparse skips those), so the backup is
    // still streaming when the host freezes.
    const chunk = Buffer.alloc(1024 * 1024, 'opsbook ');
    const big = await open(path.join(dir, 'big'), 'w');
    for (let i = 0; i < 1024; i++) await big.write(chunk);
    await big.close();
    const file = await approvedFile(
      world,
      'frozen-backup',
      'frozen-backup.json',
      [world.people.alice],
      { params: { dir }, target: 'h2' },
    );
    const staging = path.join(world.stateDir, 'backups', 'staging');
    /** Bytes of the archive being written into the runner's staging folder. */
    const stagedBytes = async () => {
      let bytes = 0;
      for (const d of await readdir(staging).catch(() => [] as string[]))
        for (const f of await readdir(path.join(staging, d)).catch(() => [] as string[]))
          bytes += statSync(path.join(staging, d, f), { throwIfNoEntry: false })?.size ?? 0;
      return bytes;
    };
    const running = world.spawnOpsbook(['run', file, '--json']);
    await waitFor(async () => (await stagedBytes()) > 0, 'the archive to start arriving');
    freezeHost(1);

    await firstCtrlC(running);
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');

    const journal = await readJournal(doc.journal.path);
    const stepEnd = journal.find((e) => e.type === 'step-end' && e.step === 'save');
    expect(stepEnd).toMatchObject({ host: 'h2', status: 'error', uses: 'backup.files' });
    const reason = String(stepEnd!.reason);
    expect(reason).toContain(
      "the backup of h2 was cancelled; nothing was kept in the runner's repository; the kill was sent but not confirmed (host h2 is not answering): the backup's command may still be running there",
    );
    expect(reason).not.toContain('killed');
    expect(reason).toContain('stopped by a second Ctrl-C');
    const hostEnd = journal.find((e) => e.type === 'host-end' && e.host === 'h2');
    expect(hostEnd).toMatchObject({ status: 'cancelled' });
    expect(String(hostEnd!.error)).toContain(
      'the kill of steps/save was sent but not confirmed (host h2 is not answering)',
    );
    expect(journal.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'interrupted',
      hosts: { h2: 'cancelled' },
    });
    expect(r.stderr).toMatch(/\[h2\] steps\/save error .*not confirmed/);
    expect((await world.opsbook(['journal', 'verify', doc.runId])).code).toBe(0);

    // Nothing of the half-written archive stays on the runner: no backup, no staging folder.
    expect(await readdir(staging)).toEqual([]);
    const list = await world.opsbook(['backup', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { backups: unknown[] }).backups).toEqual([]);
    await rm(path.join(dir, 'big'));
  });
});

describe('a first Ctrl-C with a host frozen mid-step', () => {
  it('says which step it waits for and what bounds the wait, then ends the run interrupted naming the host given up, its outcome unknown', async () => {
    const dir = path.join(world.markerDir, 'frozen-once');
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', 'frozen-once.json', [world.people.alice], {
      params: { dir, seconds: '300' },
      target: 'h2',
    });
    const running = world.spawnOpsbook(['run', file]);
    await waitFor(() => exists(path.join(dir, 'h2.started')), 'h2 to start its step');
    freezeHost(1);
    running.child.kill('SIGINT');
    // No second Ctrl-C: the step cannot finish, and its 15-minute default timeout is not what
    // ends the wait: the SSH keepalive gives up on the frozen host (about a minute).
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);
    // What the engineer is told at once: what is waited for, and what bounds the wait.
    expect(r.stderr).toContain(
      "running commands finish or time out (Ctrl-C again to stop now)\nwaiting for h2 steps/first: each ends by itself or by its step's timeout; a host that is not answering is given up after about a minute without an SSH keepalive reply, its step's outcome then unknown (check that host before running again)",
    );
    // And once it was given up: the connection lost, the command's outcome unknown.
    expect(r.stderr).toMatch(
      /\[h2\] steps\/first error .*host h2: the SSH connection was lost; the command's outcome is unknown: check the host before running again/,
    );
    expect(r.stdout).toMatch(/run \S+ interrupted in/);
    expect(exists(path.join(dir, 'h2.first-done'))).toBe(false);
  }, 200_000);
});
