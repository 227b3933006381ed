import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, exists, firstCtrlC, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { isAnyProcessMentioning, journalFiles, type RunDoc, readJournal } from './run-outcome.js';
import { dirParam, header, slowRunbook } from './runbook-fixtures.js';

/*
 * Issue 4, "Done means": SIGINT (and SIGTERM), SIGHUP and SIGKILL of the real `opsbook run` process mid-run, against
 * real sshd hosts. Ctrl-C lets running commands finish, starts nothing new, exits 130 and
 * journals the run as interrupted; a killed runner leaves a journal that still verifies, as
 * incomplete, and nothing running on the hosts.
 */

/** A step on the runner machine (where: local) that would run for five minutes. */
const slowLocalRunbook = {
  yaml: `${header('slow-local', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: wait-here
      name: Wait on the runner machine
      where: local
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep 300 && touch {{ params.dir }}/{{ host.name }}.done
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: { slow: slowRunbook, 'slow-local': slowLocalRunbook },
  });
});
afterAll(async () => {
  await world?.remove();
});

/** Starts `opsbook run` of a fresh approval of the slow runbook on h1 and h2. */
async function startSlowRun(name: string, seconds = 3, output: string[] = ['--json']) {
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  const file = await approvedFile(world, 'slow', `${name}.json`, [world.people.alice], {
    params: { dir, seconds: String(seconds) },
    target: 'h1:h2',
  });
  const before = new Set(await journalFiles(world));
  const running = world.spawnOpsbook(['run', file, ...output]);
  // Both hosts are inside their first command: now is "mid-run".
  await waitFor(
    () => exists(path.join(dir, 'h1.started')) && exists(path.join(dir, 'h2.started')),
    'both hosts to start their first step',
  );
  const journal = async () => (await journalFiles(world)).filter((f) => !before.has(f));
  return { dir, file, running, journal };
}

describe('interrupting opsbook run', () => {
  // SIGTERM is a service stop or a CI timeout.
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'on %s lets the running commands finish, starts no new step, exits 130 and journals it',
    async (signal) => {
      const { dir, running } = await startSlowRun(signal.toLowerCase());
      running.child.kill(signal);
      const r = await running.done;
      expect(r.stderr).toContain(
        `interrupted${signal === 'SIGINT' ? '' : ` (${signal})`}: no new step or host will start`,
      );
      expect(r.code).toBe(130);
      // The commands running at Ctrl-C ran to their end; the next step never started.
      expect((await readdir(dir)).sort()).toEqual([
        'h1.first-done',
        'h1.started',
        'h2.first-done',
        'h2.started',
      ]);
      const doc = JSON.parse(r.stdout) as RunDoc;
      expect(doc.status).toBe('interrupted');
      for (const h of doc.hosts) {
        expect(h.status).toBe('cancelled');
        expect(h.steps.map((s) => [s.id, s.status])).toEqual([['first', 'ok']]);
      }
      const journal = await readJournal(doc.journal.path);
      expect(journal.filter((e) => e.type === 'step-start').map((e) => e.step)).toEqual([
        'first',
        'first',
      ]);
      expect(journal.at(-1)).toMatchObject({
        type: 'run-end',
        status: 'interrupted',
        interrupted: true,
        hosts: { h1: 'cancelled', h2: 'cancelled' },
      });
      const verify = await world.opsbook(['journal', 'verify', doc.runId]);
      expect(verify.stdout).toContain(`✓ ${doc.runId}  intact (complete, ${journal.length} events`);
      expect(verify.code).toBe(0);
      const list = await world.opsbook(['runs', 'list', '--json']);
      const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
        .runs;
      expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('interrupted');
    },
  );

  it('on a second Ctrl-C kills the commands still running, journals each as stopped and ends the run as interrupted', async () => {
    // A step that would outlive anyone's patience: Ctrl-C alone waits for it (up to its timeout).
    const { dir, running } = await startSlowRun('sigint-twice', 300);
    await firstCtrlC(running);
    const t0 = Date.now();
    running.child.kill('SIGINT');
    const r = await running.done;
    // It did not wait for the 300 s step (a bound far above the 15 s opsbook gives itself).
    expect(Date.now() - t0).toBeLessThan(100_000);
    expect(r.code).toBe(130);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).toContain(
      'stopping now: the commands still running are killed and the run is recorded as interrupted',
    );
    // Killed on the hosts: the 300 s command is gone, it never reached its end marker.
    await waitFor(
      async () => !(await isAnyProcessMentioning(`${dir}/`)),
      'the stopped commands to die',
    );
    expect((await readdir(dir)).sort()).toEqual(['h1.started', 'h2.started']);
    // The journal says what happened to each: the step was stopped, the host cancelled.
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');
    const journal = await readJournal(doc.journal.path);
    for (const host of ['h1', 'h2']) {
      const end = journal.find((e) => e.type === 'step-end' && e.host === host);
      expect(end).toMatchObject({ step: 'first', status: 'error' });
      expect(String(end!.reason)).toContain('was cancelled and killed');
      expect(String(end!.reason)).toContain('stopped by a second Ctrl-C');
      expect(journal.find((e) => e.type === 'host-end' && e.host === host)).toMatchObject({
        status: 'cancelled',
        rolledBack: false,
      });
    }
    expect(journal.some((e) => e.type === 'step-start' && e.step === 'second')).toBe(false);
    expect(journal.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'interrupted',
      hosts: { h1: 'cancelled', h2: 'cancelled' },
    });
    const verify = await world.opsbook(['journal', 'verify', doc.runId]);
    expect(verify.stdout).toContain(`✓ ${doc.runId}  intact (complete, ${journal.length} events`);
    expect(verify.code).toBe(0);
    const shown = await world.opsbook(['runs', 'show', doc.runId]);
    expect(shown.stdout).toMatch(new RegExp(`^run ${doc.runId} {2}interrupted `, 'm'));
    expect(shown.stdout).toContain('stopped by a second Ctrl-C');
  });

  // systemctl stop sends SIGTERM; a second one (systemctl kill, a CI runner's cancel) stops now.
  it('after a second Ctrl-C says what was left and how to go on, not that a senior closes finished work', async () => {
    const { running } = await startSlowRun('sigint-twice-hint', 300, []);
    await firstCtrlC(running);
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).not.toMatch(stackTrace);
    const runId = /^run (\S+) interrupted in /m.exec(r.stdout)?.[1];
    expect(runId, r.stdout).toBeDefined();
    const key = /^ticket (\S+) updated/m.exec(r.stdout)?.[1];
    expect(key, r.stdout).toBeDefined();
    expect(r.stdout).toContain(
      `next: run ${runId} was interrupted: 2 of 2 host(s) did not end ok (h1 cancelled, h2 cancelled): check them (opsbook runs show ${runId} says what each one ran and where it stopped); ${key} is In Review, its comment saying the run was interrupted and how each host ended: a senior who did not sign it decides whether what ran is enough (opsbook ticket accept ${key}) or sends it back for what is left (opsbook ticket reject ${key} --reason …)`,
    );
    expect(r.stdout).toContain('no run of the approval left');
    expect(r.stdout).not.toContain('checks the run and closes it');
  });

  it('on a second SIGTERM kills the commands still running and ends the run as interrupted, saying which signal', async () => {
    const { dir, running } = await startSlowRun('sigterm-twice', 300);
    running.child.kill('SIGTERM');
    await waitFor(
      () => running.stderr().includes('interrupted (SIGTERM): no new step or host will start'),
      'the first SIGTERM to be noted',
    );
    running.child.kill('SIGTERM');
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);
    await waitFor(
      async () => !(await isAnyProcessMentioning(`${dir}/`)),
      'the stopped commands to die',
    );
    const doc = JSON.parse(r.stdout) as RunDoc;
    const journal = await readJournal(doc.journal.path);
    for (const host of ['h1', 'h2']) {
      const end = journal.find((e) => e.type === 'step-end' && e.host === host);
      expect(String(end?.reason)).toContain(
        'was cancelled and killed (stopped by a second SIGTERM)',
      );
    }
    expect(journal.at(-1)).toMatchObject({ type: 'run-end', status: 'interrupted' });
    const list = await world.opsbook(['runs', 'list', '--json']);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === doc.runId)?.status).toBe('interrupted');
  });

  it('on a second Ctrl-C kills a local step (where: local) still running too, and journals it as stopped', async () => {
    const dir = path.join(world.markerDir, 'sigint-twice-local');
    await mkdir(dir);
    const file = await approvedFile(
      world,
      'slow-local',
      'sigint-twice-local.json',
      [world.people.alice],
      { params: { dir }, target: 'h1' },
    );
    const running = world.spawnOpsbook(['run', file, '--json']);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'the local step to start');
    await firstCtrlC(running);
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.code).toBe(130);
    await waitFor(
      async () => !(await isAnyProcessMentioning(`${dir}/`)),
      'the stopped local command to die',
    );
    expect(await readdir(dir)).toEqual(['h1.started']);
    const doc = JSON.parse(r.stdout) as RunDoc;
    const journal = await readJournal(doc.journal.path);
    const end = journal.find((e) => e.type === 'step-end');
    expect(end).toMatchObject({ step: 'wait-here', status: 'error' });
    expect(String(end!.reason)).toContain('stopped by a second Ctrl-C');
    expect(journal.at(-1)).toMatchObject({ type: 'run-end', status: 'interrupted' });
  });

  it('on SIGHUP (the terminal or ssh session gone) runs to its end and records it, as under nohup', async () => {
    const { dir, running } = await startSlowRun('sighup');
    running.child.kill('SIGHUP');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([
      'h1.first-done',
      'h1.second',
      'h1.started',
      'h2.first-done',
      'h2.second',
      'h2.started',
    ]);
    expect((JSON.parse(r.stdout) as RunDoc).status).toBe('ok');
  });

  it('after SIGKILL the journal still verifies, as incomplete, and nothing keeps running on the hosts', async () => {
    const { dir, file: approval, running, journal } = await startSlowRun('sigkill');
    const [file] = await journal();
    expect(file).toBeDefined();
    const runId = path.basename(file!, '.jsonl');
    // While its runner lives, the run is listed as running (not as killed).
    const during = await world.opsbook(['runs', 'list', '--status', 'running']);
    expect(during.stdout).toMatch(new RegExp(`^${runId}\\s+running\\s`, 'm'));
    const shownDuring = await world.opsbook(['runs', 'show', runId]);
    expect(shownDuring.stdout).toMatch(
      /^ {2}steps\/first {2}started \S+, no result \(still running\)$/m,
    );
    running.child.kill('SIGKILL');
    const r = await running.done;
    expect(r.code).toBe(-1); // ended by a signal, not by an exit
    const events = await readJournal(file!);
    expect(events[0]).toMatchObject({ type: 'run-start', runId });
    expect(events.some((e) => e.type === 'run-end')).toBe(false);

    const verify = await world.opsbook(['journal', 'verify', runId]);
    expect(verify.stdout).toMatch(
      new RegExp(`^✓ ${runId} {2}intact \\(incomplete, ${events.length} events`, 'm'),
    );
    expect(verify.code).toBe(0);
    const all = await world.opsbook(['journal', 'verify']);
    expect(all.code).toBe(0);
    const list = await world.opsbook(['runs', 'list', '--json']);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === runId)?.status).toBe('incomplete');
    const table = await world.opsbook(['runs', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^${runId}\\s+incomplete\\s`, 'm'));
    // runs show lists the step each host was killed in, its outcome unknown.
    const shown = await world.opsbook(['runs', 'show', runId]);
    expect(
      shown.stdout.match(
        /^ {2}steps\/first {2}started \S+, no result \(its runner stopped: outcome unknown\)$/gm,
      ),
    ).toHaveLength(2);
    // The same run, had it been started from another machine sharing this files store: its mark
    // names that machine, which this one cannot ask. Still incomplete (it has no end), but not
    // said to have stopped: it may still be running there.
    const mark = file!.replace(/\.jsonl$/, '.runner');
    const ownMark = await readFile(mark, 'utf8');
    await writeFile(mark, '4242\n\nrunner-b.example\n');
    const listedElsewhere = await world.opsbook(['runs', 'list']);
    expect(listedElsewhere.stdout).toMatch(new RegExp(`^${runId}\\s+incomplete\\s`, 'm'));
    expect(listedElsewhere.stderr).toContain(
      `run ${runId} has no end, and its runner is on the machine runner-b.example, which this one cannot ask`,
    );
    const elsewhereJson = JSON.parse((await world.opsbook(['runs', 'list', '--json'])).stdout) as {
      runs: Array<{ runId: string; status: string; runnerHost?: string }>;
    };
    expect(elsewhereJson.runs.find((x) => x.runId === runId)).toMatchObject({
      status: 'incomplete',
      runnerHost: 'runner-b.example',
    });
    const shownElsewhere = await world.opsbook(['runs', 'show', runId]);
    expect(
      shownElsewhere.stdout.match(
        /^ {2}steps\/first {2}started \S+, no result \(no result here: its runner is on runner-b\.example\)$/gm,
      ),
    ).toHaveLength(2);
    expect(shownElsewhere.stdout).not.toContain('its runner stopped: outcome unknown');
    expect(shownElsewhere.stdout).toContain(
      'this run has no end, and its runner is on the machine runner-b.example',
    );
    const doctorElsewhere = await world.opsbook(['doctor', '--json']);
    expect(doctorElsewhere.stdout).toContain('1 without an end whose runner is on another machine');
    expect(doctorElsewhere.stdout).not.toContain(`run ${runId} stopped before its end`);
    await writeFile(mark, ownMark);

    // The dead runner's SSH connections closed, and the hosts killed what it had started there:
    // the 3 s command never reached its end marker.
    await waitFor(
      async () => !(await isAnyProcessMentioning(`${dir}/`)),
      'the orphaned commands to die',
    );
    expect((await readdir(dir)).sort()).toEqual(['h1.started', 'h2.started']);

    // Its ticket is left In Progress with the run unreported: `ticket report` will not make up
    // an end the journal does not hold, and names the way out.
    const { ticket } = statementOf(await readEnvelope(approval));
    const report = await world.opsbook(['ticket', 'report', ticket, '--approval', approval]);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.code, report.stderr).toBe(3);
    expect(report.stdout).toContain(`not reported: run ${runId}: its journal has no end`);
    expect(report.stdout).toContain(`opsbook ticket reject ${ticket}`);
  });
});
