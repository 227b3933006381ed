import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, userEnv } from './run-cli.js';

let dir: string;
const RUNS = ['20250301-000000-aaaaaa', '20250302-000000-bbbbbb'];

/** A run as the runner journals it: claimed, run-start, run-end, its end recorded. */
async function recordRun(runId: string) {
  const store = filesStore(path.join(dir, '.opsbook'));
  await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-1' });
  const journal = await store.createJournal(runId);
  await journal.append({
    type: 'run-start',
    runId,
    ticket: 'OPS-1',
    runbook: { name: 'disk-cleanup', version: '1.0.0' },
    approval: { id: `apr-${runId}` },
    hosts: ['web-1'],
  });
  await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
  await journal.close();
  await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
}

const cli = (...args: string[]) => runCli(args, { cwd: dir, env: userEnv() });
const ledger = () => path.join(dir, '.opsbook', 'ledger.jsonl');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-ledger-damaged-'));
  await writeFile(path.join(dir, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
  for (const runId of RUNS) await recordRun(runId);
  // A line damaged in place (a disk error, a bad edit): the first run's end, its pin.
  const lines = (await readFile(ledger(), 'utf8')).split('\n');
  lines[1] = '{"type":"run-end", "runId": oops';
  await writeFile(ledger(), lines.join('\n'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a damaged ledger line', () => {
  const warning = (stderr: string) => {
    expect(stderr).toContain(`${ledger()}:2`);
    expect(stderr).toMatch(/opsbook doctor/);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('runs list still lists every run, warns with file:line and exits 2', async () => {
    const r = await cli('runs', 'list', '--json');
    expect(r.code).toBe(2);
    const shown = JSON.parse(r.stdout) as { runs: { runId: string }[]; ledgerDamage: unknown[] };
    expect(shown.runs.map((x) => x.runId)).toEqual([...RUNS].reverse());
    expect(shown.ledgerDamage).toEqual([expect.objectContaining({ file: ledger(), line: 2 })]);
    warning(r.stderr);
    const human = await cli('runs', 'list');
    expect(human.code).toBe(2);
    expect(human.stdout).toContain(RUNS[1]);
    warning(human.stderr);
  });

  it('runs show and journal verify still show a run, with the warning, exit 2', async () => {
    const show = await cli('runs', 'show', RUNS[1]!);
    expect(show.code).toBe(2);
    expect(show.stdout).toMatch(/intact/);
    warning(show.stderr);
    const verify = await cli('journal', 'verify', RUNS[1]!);
    expect(verify.code).toBe(2);
    expect(verify.stdout).toContain(RUNS[1]);
    warning(verify.stderr);
  });

  it('stats, report and backup list --history still answer, with the warning, exit 2', async () => {
    const stats = await cli('stats', '--json');
    expect(stats.code).toBe(2);
    expect(JSON.parse(stats.stdout).ledgerDamage).toEqual([
      expect.objectContaining({ file: ledger(), line: 2 }),
    ]);
    warning(stats.stderr);
    const report = await cli('report', '--format', 'json');
    expect(report.code).toBe(2);
    warning(report.stderr);
    const backups = await cli('backup', 'list', '--history');
    expect(backups.code).toBe(2);
    expect(backups.stderr).toContain('in the 2 run(s) of');
    warning(backups.stderr);
  });

  it('doctor still names the line as a failure', async () => {
    const r = await cli('doctor');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${ledger()}:2`);
  });
});
