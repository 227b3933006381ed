import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore, type StateStore } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace, userEnv } from './run-cli.js';
import { daysAgo, runIdAt, workingCopy } from './stats-history.js';

/*
 * The views that read many runs (runs list, stats, report) over a history in which journals were
 * edited or cut after their runs ended (the fault-injection trial): none may show such a run as
 * intact. `runs list` marks it tampered and names `opsbook journal verify`; stats and report
 * leave it out of their numbers and name it. A run that was killed (no run-end, no end in the
 * ledger) stays incomplete.
 */

const NOW = Date.now();
const at = (days: number) => daysAgo(days, NOW);

const intactId = runIdAt(at(4), 'intact');
const editedId = runIdAt(at(3), 'edited');
const cutId = runIdAt(at(2), 'cutcut');
const killedId = runIdAt(at(1), 'killed');

let root: string;
let dir: string;
let journals: string;

const disk = (host: string, pct: number) => ({
  host,
  check: 'inspection.disk',
  subject: '/',
  status: pct >= 90 ? 'crit' : pct >= 80 ? 'warn' : 'ok',
  value: pct,
  threshold: 80,
  unit: '%',
  message: `/ is ${pct}% full`,
});

/**
 * An inspection run journaled as the runner does: run-start, per host host-start and either its
 * inspection step or host-end unreachable, run-end with the run's status; its end recorded in the
 * ledger and its findings kept, unless `killed` (the runner died before run-end).
 */
async function inspectionRun(
  store: StateStore,
  runId: string,
  startedAt: Date,
  hosts: Record<string, number | 'unreachable'>,
  options: { killed?: boolean } = {},
): Promise<void> {
  let t = startedAt.getTime();
  const clock = () => {
    t += 1000;
    return new Date(t);
  };
  await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-7' });
  const journal = await store.createJournal(runId, { clock });
  await journal.append({
    type: 'run-start',
    runId,
    ticket: 'OPS-7',
    runbook: { name: 'daily-inspection', version: '1.0.0' },
    approval: { id: `apr-${runId}` },
    hosts: Object.keys(hosts),
  });
  for (const [host, pct] of Object.entries(hosts)) {
    await journal.append({ type: 'host-start', host });
    if (pct !== 'unreachable') {
      await journal.append({
        type: 'step-end',
        host,
        phase: 'steps',
        step: 'disk',
        status: 'ok',
        exitCode: 0,
        durationMs: 20,
        uses: 'inspection.disk',
        result: { findings: [disk(host, pct)] },
      });
    }
    await journal.append({
      type: 'host-end',
      host,
      status: pct === 'unreachable' ? 'unreachable' : 'ok',
      rolledBack: false,
    });
  }
  const status = Object.values(hosts).includes('unreachable') ? 'unreachable' : 'ok';
  if (!options.killed) {
    await journal.append({
      type: 'run-end',
      status,
      hosts: Object.fromEntries(
        Object.entries(hosts).map(([h, p]) => [h, p === 'unreachable' ? 'unreachable' : 'ok']),
      ),
      interrupted: false,
      stoppedByFailures: false,
    });
  }
  await journal.close();
  if (options.killed) return;
  await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status });
  await store.recordFindings(runId);
}

const journalOf = (runId: string) => path.join(journals, `${runId}.jsonl`);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-tampered-history-'));
  dir = await workingCopy(path.join(root, 'site'), ['daily-inspection']);
  const store = filesStore(path.join(dir, '.opsbook'));
  journals = path.join(dir, '.opsbook', 'runs');
  await inspectionRun(store, intactId, at(4), { 'web-1': 50 });
  // db-1 never answers this run: then the journal is edited to say it did (sed -i …/g).
  await inspectionRun(store, editedId, at(3), { 'web-1': 51, 'db-1': 'unreachable' });
  const edited = journalOf(editedId);
  await writeFile(
    edited,
    (await readFile(edited, 'utf8')).replaceAll('"status":"unreachable"', '"status":"ok"'),
  );
  // Ended ok with its count in the ledger: then its last 3 lines are dropped.
  await inspectionRun(store, cutId, at(2), { 'web-1': 52, 'db-2': 61 });
  const lines = (await readFile(journalOf(cutId), 'utf8')).split('\n').filter(Boolean);
  await writeFile(journalOf(cutId), `${lines.slice(0, -3).join('\n')}\n`);
  // The runner was killed: no run-end, no end in the ledger.
  await inspectionRun(store, killedId, at(1), { 'web-1': 53 }, { killed: true });
  await store.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  runCli(args, { cwd: dir, env: userEnv({ OPSBOOK_DATABASE_URL: '' }) });

describe('runs list over edited and cut journals', () => {
  it('marks a run tampered whose journal was edited or cut; a killed run stays incomplete', async () => {
    const r = await cli(['runs', 'list', '--json']);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.stdout).runs as Array<{ runId: string; status: string }>;
    expect(Object.fromEntries(runs.map((x) => [x.runId, x.status]))).toEqual({
      [intactId]: 'ok',
      [editedId]: 'tampered',
      [cutId]: 'tampered',
      [killedId]: 'incomplete',
    });
    const edited = runs.find((x) => x.runId === editedId) as { problem?: string };
    expect(edited.problem).toMatch(/edited|ledger/);
  });

  it('says which runs do not verify and names opsbook journal verify for each', async () => {
    const r = await cli(['runs', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${editedId}\\s+tampered`));
    expect(r.stdout).toMatch(new RegExp(`${cutId}\\s+tampered`));
    expect(r.stdout).toMatch(new RegExp(`${intactId}\\s+ok`));
    expect(r.stdout).toMatch(new RegExp(`${killedId}\\s+incomplete`));
    expect(r.stderr).toContain(`opsbook journal verify ${editedId}`);
    expect(r.stderr).toContain(`opsbook journal verify ${cutId}`);
    expect(r.stderr).not.toContain(intactId);
    expect(r.stderr).not.toContain(killedId);
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('finds them with --status tampered', async () => {
    const r = await cli(['runs', 'list', '--json', '--status', 'tampered']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).runs.map((x: { runId: string }) => x.runId)).toEqual([
      cutId,
      editedId,
    ]);
  });
});

describe('stats over edited and cut journals', () => {
  it('leaves them out of its numbers and names them', async () => {
    const r = await cli(['stats', '--json']);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.leftOut.map((l: { runId: string }) => l.runId).sort()).toEqual(
      [editedId, cutId].sort(),
    );
    for (const l of stats.leftOut) expect(l.reason).toMatch(/does not verify/);
    expect(stats.runbooks).toHaveLength(1);
    expect(stats.runbooks[0].outcomes).toEqual({
      ok: 1,
      failed: 0,
      unreachable: 0,
      interrupted: 0,
      incomplete: 1,
    });
  });
});

describe('report over edited and cut journals', () => {
  const range = ['--since', at(5).toISOString(), '--until', new Date(NOW).toISOString()];

  it('leaves their findings out, names them, and keeps no findings derived from them', async () => {
    // A report derives the findings of runs whose kept findings are older than their journal.
    for (const pass of ['first', 'second']) {
      const r = await cli(['report', '--format', 'json', ...range]);
      expect(r.code, pass).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.leftOutRuns.map((l: { runId: string }) => l.runId).sort(), pass).toEqual(
        [editedId, cutId].sort(),
      );
      for (const l of report.leftOutRuns) expect(l.reason).toMatch(/does not verify/);
      const notes = report.notes.join('\n');
      expect(notes).toContain(`run ${editedId} left out: its journal does not verify`);
      expect(notes).toContain(`run ${cutId} left out: its journal does not verify`);
      // db-1 is only in the edited run, where it never answered: it must not show as answered.
      const db1 = report.hosts.find((h: { host: string }) => h.host === 'db-1');
      expect(db1?.state, pass).not.toBe('no-data');
      expect(notes).not.toMatch(/answered but ran no inspection/);
      // The cut run's findings are not read either: web-1's newest is the killed run's.
      const web1 = report.hosts.find((h: { host: string }) => h.host === 'web-1');
      expect(web1.lastSeen, pass).toBe(new Date(at(1).getTime() + 3000).toISOString());
    }
  });

  it('says in Markdown which runs it left out', async () => {
    const r = await cli(['report', '--format', 'md', ...range]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${editedId} left out: its journal does not verify`);
  });
});
