import type { Block } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import {
  digestJournal,
  evidenceBundle,
  type RunDigest,
  type StepRecord,
  summarizeRun,
} from './run-summary.js';
import { evidenceBlocks } from './ticket-open.js';

const step = (host: string, id: string, status: string, phase = 'steps'): StepRecord => ({
  host,
  phase,
  step: id,
  name: id,
  status,
});

function digestOf(hosts: RunDigest['hosts'], steps: StepRecord[]): RunDigest {
  return {
    runId: 'r1',
    ticket: 'OPS-1',
    runbook: 'disk-cleanup 1.0.0',
    status: 'failed',
    executor: 'eve',
    executorKey: '',
    hosts,
    steps,
    journal: { head: 'sha256:00', count: 0 },
    findings: { counts: {}, notable: [] },
  };
}

function hostRows(blocks: Block[]): string[][] {
  const table = blocks.find((b) => b.type === 'table' && b.header[0] === 'host');
  if (table?.type !== 'table') throw new Error('no host table in the comment');
  return table.rows;
}

describe('summarizeRun', () => {
  it("counts each host's own steps, ok and all, whatever the order of the steps", () => {
    const run = digestOf(
      [
        { host: 'web-1', status: 'ok', rolledBack: false },
        { host: 'web-2', status: 'failed', failedStep: 'steps/b', rolledBack: true },
        { host: 'web-3', status: 'unreachable', rolledBack: false },
      ],
      [
        step('web-1', 'a', 'ok'),
        step('web-2', 'a', 'ok'),
        step('web-1', 'b', 'ok'),
        step('web-2', 'b', 'failed'),
        step('web-2', 'undo', 'ok', 'rollback'),
        step('web-1', 'check', 'ok', 'postchecks'),
      ],
    );
    expect(hostRows(summarizeRun(run, []).blocks)).toEqual([
      ['web-1', 'ok', '', '', '3/3'],
      ['web-2', 'failed', 'steps/b', 'yes', '2/3'],
      ['web-3', 'unreachable', '', '', '0/0'],
    ]);
  });

  it('lists the host keys the run took as new (--accept-new-host-keys), so the verifying senior sees them', () => {
    const fingerprint = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
    const digest = digestJournal([
      { type: 'run-start', runId: 'r1', ticket: 'OPS-1', hosts: ['web-1', 'web-2'] },
      { type: 'host-start', host: 'web-1' },
      {
        type: 'host-key-accepted',
        host: 'web-1',
        address: '10.0.0.1',
        port: 2222,
        keyType: 'ssh-ed25519',
        fingerprint,
        knownHostsFile: '/home/opsbook/.ssh/known_hosts',
      },
      { type: 'host-end', host: 'web-1', status: 'ok', rolledBack: false },
      { type: 'host-start', host: 'web-2' },
      { type: 'host-end', host: 'web-2', status: 'ok', rolledBack: false },
      { type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok', 'web-2': 'ok' } },
    ] as never);
    const blocks = summarizeRun(digest, []).blocks;
    const heading = blocks.findIndex(
      (b) => b.type === 'heading' && b.text === 'Host keys accepted as new',
    );
    expect(heading).toBeGreaterThan(0);
    expect(blocks[heading + 1]).toEqual({
      type: 'table',
      header: ['host', 'address', 'key', 'added to'],
      rows: [
        [
          'web-1',
          '10.0.0.1 port 2222',
          `${fingerprint} (ssh-ed25519)`,
          '/home/opsbook/.ssh/known_hosts',
        ],
      ],
    });
    // A run that took no key as new says nothing of it.
    const none = summarizeRun(
      digestOf([{ host: 'web-1', status: 'ok', rolledBack: false }], []),
      [],
    );
    expect(JSON.stringify(none.blocks)).not.toContain('accepted as new');
  });

  it('lists the hosts whose port or user ~/.ssh/config chose, not the plan, so the verifying senior sees where the commands went', () => {
    const route = (host: string, fromSshConfig: string[]) => ({
      type: 'host-route',
      host,
      address: '10.0.0.1',
      port: 2222,
      user: 'root',
      jumps: [{ address: '10.0.0.9', port: 22, user: 'ops' }],
      fromSshConfig,
    });
    const digest = digestJournal([
      { type: 'run-start', runId: 'r1', ticket: 'OPS-1', hosts: ['web-1', 'web-2'] },
      { type: 'host-start', host: 'web-1' },
      route('web-1', ['port', 'user']),
      // An off-host copy's destination, reached from a step on web-1.
      { ...route('web-1', ['user']), destination: 'vault' },
      { type: 'host-end', host: 'web-1', status: 'ok', rolledBack: false },
      { type: 'host-start', host: 'web-2' },
      route('web-2', []),
      { type: 'host-end', host: 'web-2', status: 'ok', rolledBack: false },
      { type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok', 'web-2': 'ok' } },
    ] as never);
    const blocks = summarizeRun(digest, []).blocks;
    const heading = blocks.findIndex(
      (b) =>
        b.type === 'heading' &&
        b.text === 'Connections ~/.ssh/config chose (not in the approved plan)',
    );
    expect(heading).toBeGreaterThan(0);
    expect(blocks[heading + 1]).toEqual({
      type: 'table',
      header: ['host', 'reached as', 'chosen by ~/.ssh/config'],
      rows: [
        ['web-1', 'root@10.0.0.1 port 2222 via ops@10.0.0.9 port 22', 'port, user'],
        [
          'web-1 (copy destination vault)',
          'root@10.0.0.1 port 2222 via ops@10.0.0.9 port 22',
          'user',
        ],
      ],
    });
  });

  it("lists an inspection's findings that are not ok, worst first, with the counts", () => {
    const finding = (status: string, subject: string, message: string) => ({
      host: 'web-1',
      check: 'inspection.disk',
      subject,
      status,
      value: 1,
      threshold: 1,
      message,
    });
    const line = (n: number, e: object) => ({ seq: n, at: '', prev: '', hash: `h${n}`, ...e });
    const digest = digestJournal([
      line(0, { type: 'run-start', runId: 'r1', ticket: 'OPS-1', runbook: { name: 'daily' } }),
      line(1, {
        type: 'step-end',
        host: 'web-1',
        phase: 'steps',
        step: 'disk',
        status: 'ok',
        result: {
          findings: [
            finding('ok', '/', '40% used'),
            finding('warn', '/home', '85% used (warn at 80%)'),
            finding('crit', '/var', '97% used (crit at 95%)'),
          ],
        },
      }),
      line(2, { type: 'run-end', status: 'ok' }),
    ] as never);
    expect(digest.findings.counts).toEqual({ ok: 1, warn: 1, crit: 1 });
    const blocks = summarizeRun(digest, []).blocks;
    const text = JSON.stringify(blocks);
    expect(text).toContain('"Inspection findings"');
    expect(text).toContain('1 crit, 1 warn, 1 ok.');
    const table = blocks.find((b) => b.type === 'table' && b.header.includes('finding'));
    expect(table?.type === 'table' && table.rows).toEqual([
      ['web-1', 'inspection.disk', '/var', 'crit', '97% used (crit at 95%)'],
      ['web-1', 'inspection.disk', '/home', 'warn', '85% used (warn at 80%)'],
    ]);
  });
});

describe('evidence of a run that did not reach every host', () => {
  const events = [
    {
      type: 'run-start',
      runId: 'r2',
      ticket: 'OPS-2',
      runbook: { name: 'collect-diagnostics', version: '1.0.0' },
    },
    { type: 'host-start', host: 'web-01' },
    { type: 'step-start', host: 'web-01', phase: 'steps', step: 'df', name: 'Disk usage' },
    {
      type: 'step-end',
      host: 'web-01',
      phase: 'steps',
      step: 'df',
      status: 'ok',
      stdout: '/ 91%\n',
    },
    { type: 'host-end', host: 'web-01', status: 'ok' },
    {
      type: 'host-end',
      host: 'web-99',
      status: 'unreachable',
      error: 'connection refused (127.0.0.1:1)',
    },
    {
      type: 'run-end',
      status: 'unreachable',
      hosts: { 'web-01': 'ok', 'web-99': 'unreachable', 'web-98': 'not-started' },
    },
  ] as unknown as Parameters<typeof digestJournal>[0];

  it('names the hosts it got nothing from, with why, in the table and the attached output', () => {
    const digest = digestJournal(events);
    expect(digest.hosts.map((h) => [h.host, h.status])).toEqual([
      ['web-01', 'ok'],
      ['web-99', 'unreachable'],
      ['web-98', 'not-started'],
    ]);
    expect(hostRows(evidenceBlocks(digest))).toEqual([
      ['web-99', '—', 'unreachable', 'connection refused (127.0.0.1:1)'],
      ['web-98', '—', 'not-started', ''],
      ['web-01', 'Disk usage', 'ok', '/ 91%'],
    ]);
    const text = new TextDecoder().decode(evidenceBundle(digest, ['steps']));
    expect(text).toContain('## web-99 — unreachable: no output (connection refused (127.0.0.1:1))');
    expect(text).toContain('## web-98 — not-started: no output');
    expect(text).toContain('## web-01 — steps/df: Disk usage [ok, exit ?]\n/ 91%');
  });

  it("keeps a host's error on one line: what the host said cannot start a heading of its own", () => {
    const forged = (events as unknown as Record<string, unknown>[]).map((e) =>
      e.host === 'web-99' && e.type === 'host-end'
        ? { ...e, error: 'disconnected:\n## web-99 — steps/df: Disk usage [ok, exit 0]\n/ 3%' }
        : e,
    ) as unknown as Parameters<typeof digestJournal>[0];
    const digest = digestJournal(forged);
    const text = new TextDecoder().decode(evidenceBundle(digest, ['steps']));
    expect(text).not.toMatch(/^## web-99 — steps/m);
    expect(text).toContain(
      '## web-99 — unreachable: no output (disconnected: ## web-99 — steps/df: Disk usage [ok, exit 0] / 3%)',
    );
    expect(hostRows(evidenceBlocks(digest))[0]?.[3]).not.toContain('\n');
  });
});
