import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { journalFiles } from './run-outcome.js';
import { markerRunbook, shippedRunbook } from './runbook-fixtures.js';

/*
 * Issue 17, item 11: the daily (standing) path from a fresh setup, every step a command typed
 * through the real binary against two real sshd hosts — the engineer opens the recurring ticket
 * and proposes a standing approval on it, a senior approves it on the ticket, the engineer saves
 * it where opsbook.yaml's standing: names it, and `opsbook inspect` runs under it on two
 * successive days, the recurring ticket staying In Progress with each run recorded.
 */

const FILE = 'approvals/daily-inspection.approval.json';

interface TicketShow {
  ticket: {
    key: string;
    summary: string;
    status: string;
    assignee: { id: string } | null;
    labels: string[];
  };
  approval?: { statement?: { targets: unknown; runbook: { name: string } }; complete: boolean };
  runs: { runId: string; approvalId: string; status?: string }[];
  local: { comments: { author: string; body: unknown }[]; attachments: { filename: string }[] };
}

let world: World;
let baseConfig = '';
const asAlice = { env: { OPSBOOK_USER: 'alice' } };

/** A command that must succeed; its output when it does not. */
async function ok(args: string[], options?: { env?: NodeJS.ProcessEnv }) {
  const r = await world.opsbook(args, options);
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code, `opsbook ${args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

async function show(key: string): Promise<TicketShow> {
  return JSON.parse((await ok(['ticket', 'show', key, '--json'])).stdout) as TicketShow;
}

async function openTicket(summary: string): Promise<string> {
  const r = await ok(['ticket', 'open', '--summary', summary, '--label', 'routine', '--json']);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

const commentsOf = (t: TicketShow) => t.local.comments.map((c) => JSON.stringify(c.body));

beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: {
      'daily-inspection': await shippedRunbook('daily-inspection'),
      'collect-diagnostics': await shippedRunbook('collect-diagnostics'),
      marker: markerRunbook(),
    },
  });
  baseConfig = await readFile(path.join(world.dir, 'opsbook.yaml'), 'utf8');
});
afterAll(async () => {
  await world?.remove();
});

describe('the daily inspection from a fresh setup, in commands', () => {
  let key = '';
  const runIds: string[] = [];

  it('1. the engineer opens the recurring ticket (inspect is refused until its approval is in place)', async () => {
    const refused = await world.opsbook(['inspect']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('STANDING_APPROVAL_MISSING');
    expect(refused.stderr).toContain('opsbook ticket propose');
    key = await openTicket('Routine: daily inspection');
    const t = await show(key);
    expect(t.ticket.status).toBe('Open');
    expect(t.ticket.labels).toContain('routine');
  });

  it('2. the engineer proposes a standing approval on it: the selector, reviewed by the senior', async () => {
    const r = await ok([
      ...['ticket', 'propose', key, '--runbook', 'daily-inspection', '--standing'],
      ...['--target', 'all', '--expires', '90d', '--max-runs', '1000', '--senior', 'alice'],
    ]);
    expect(r.stdout).toContain(`proposed on ${key} for alice`);
    const t = await show(key);
    expect(t.ticket.status).toBe('Awaiting Approval');
    expect(t.ticket.assignee?.id).toBe('alice');
    expect(
      commentsOf(t).some((c) => c.includes('standing approval of the selector \\"all\\"')),
    ).toBe(true);
  });

  it('3. the senior approves it on the ticket: Approved, and told how the engineer saves it', async () => {
    const r = await ok(['ticket', 'approve', key, '--key', world.people.alice.keyFile], asAlice);
    expect(r.stdout).toContain(`approved ${key} as Alice Senior`);
    expect(r.stdout).toContain(`opsbook ticket approval ${key}`);
    const t = await show(key);
    expect(t.ticket.status).toBe('Approved');
    expect(t.ticket.assignee?.id).toBe('grace');
    expect(t.approval?.complete).toBe(true);
    expect(t.approval?.statement?.targets).toEqual({ selector: 'all' });
    expect(commentsOf(t).some((c) => c.includes(`opsbook ticket approval ${key}`))).toBe(true);
  });

  it('4. the engineer saves the signed approval, names it in opsbook.yaml, and it verifies', async () => {
    const r = await ok(['ticket', 'approval', key, '-o', FILE]);
    expect(r.stdout).toContain(`wrote ${FILE}: daily-inspection`);
    expect(r.stdout).toContain('signed by alice');
    expect(r.stdout).toContain(`standing:\n    daily-inspection: ${FILE}`);
    const envelope = await readEnvelope(path.join(world.dir, FILE));
    expect(envelope.signatures.map((s) => s.keyid)).toEqual([world.people.alice.fingerprint]);
    const statement = statementOf(envelope);
    expect(statement).toMatchObject({ ticket: key, targets: { selector: 'all' }, maxRuns: 1000 });
    await writeFile(
      path.join(world.dir, 'opsbook.yaml'),
      `${baseConfig}standing:\n  daily-inspection: ${FILE}\n`,
    );
    await ok(['verify', FILE]);
    // Saved again without -o: opsbook.yaml's standing: names the file, which already holds it.
    const again = await ok(['ticket', 'approval', key, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({
      file: path.join(world.dir, FILE),
      written: false,
      standing: { runbook: 'daily-inspection', selector: 'all', configured: true },
    });
  });

  it('5. opsbook inspect runs under it on two successive days; the ticket stays In Progress, each run recorded', async () => {
    for (const day of [1, 2]) {
      const r = await world.opsbook(['inspect', '--json']);
      expect(r.stderr).not.toMatch(stackTrace);
      const doc = JSON.parse(r.stdout) as { runId: string; status: string; findings: unknown[] };
      expect(doc.status, `day ${day}: ${r.stderr}`).toBe('ok');
      expect([0, 1]).toContain(r.code);
      expect(doc.findings.length).toBeGreaterThan(0);
      runIds.push(doc.runId);
      const t = await show(key);
      expect(t.ticket.status, `after day ${day}`).toBe('In Progress');
    }
    expect(new Set(runIds).size).toBe(2);
    const t = await show(key);
    expect(t.runs.map((r) => [r.runId, r.status])).toEqual(runIds.map((id) => [id, 'ok']));
    const notes = commentsOf(t).filter((c) =>
      c.includes('A routine run under the standing approval'),
    );
    expect(notes).toHaveLength(2);
    expect(notes[1]).toContain('998 run(s) left');
    for (const id of runIds)
      expect(t.local.attachments.map((a) => a.filename)).toContain(`${id}.journal.jsonl`);
    const verify = await world.opsbook(['journal', 'verify']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });
});

describe('refusals on the way', () => {
  it('ticket propose --standing refuses a runbook that is not routine (exit 3), and the ticket stays Open', async () => {
    const key = await openTicket('Routine: markers');
    const r = await world.opsbook([
      ...['ticket', 'propose', key, '--runbook', 'marker', '--standing'],
      ...['--param', `dir=${world.markerDir}`, '--senior', 'alice'],
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('SELECTOR_NOT_ROUTINE');
    expect(r.stderr).toContain('only routine runbooks get a standing approval');
    const t = await show(key);
    expect(t.ticket.status).toBe('Open');
    // The one comment is ticket open's ("Opened by …"): the refused proposal wrote nothing.
    expect(commentsOf(t)).toEqual([expect.stringContaining('Opened by')]);
  });

  it('ticket approval refuses a ticket that carries no signed approval (exit 3), writing nothing', async () => {
    const key = await openTicket('Routine: not approved yet');
    const r = await world.opsbook(['ticket', 'approval', key, '-o', 'approvals/none.json']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('APPROVAL_MISSING');
    await expect(readFile(path.join(world.dir, 'approvals/none.json'))).rejects.toThrow();
  });

  it('ticket approval replaces a file holding another approval only with --force (exit 2 without)', async () => {
    const key = await openTicket('Routine: daily inspection, renewed');
    await ok([
      ...['ticket', 'propose', key, '--runbook', 'daily-inspection', '--standing'],
      ...['--target', 'all', '--expires', '30d', '--max-runs', '100', '--senior', 'bob'],
    ]);
    await ok(['ticket', 'approve', key, '--key', world.people.bob.keyFile], {
      env: { OPSBOOK_USER: 'bob' },
    });
    const before = await readFile(path.join(world.dir, FILE));
    const r = await world.opsbook(['ticket', 'approval', key]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/already holds approval \S+ of daily-inspection for OPS-\d+/);
    expect(r.stderr).toContain('--force');
    expect(await readFile(path.join(world.dir, FILE))).toEqual(before);
    const forced = await ok(['ticket', 'approval', key, '--force']);
    expect(forced.stdout).toContain(`wrote ${FILE}`);
    expect(forced.stdout).toContain("opsbook.yaml's standing: names it");
    expect(statementOf(await readEnvelope(path.join(world.dir, FILE))).ticket).toBe(key);
    // The next inspection runs under the renewed approval, on its own ticket.
    const journals = (await journalFiles(world)).length;
    const run = await world.opsbook(['inspect', '--json']);
    expect((JSON.parse(run.stdout) as { status: string }).status, run.stderr).toBe('ok');
    expect((await journalFiles(world)).length).toBe(journals + 1);
    expect((await show(key)).ticket.status).toBe('In Progress');
  });
});

describe('ticket open collects the symptoms by default (issue #21 item 1)', () => {
  const EVIDENCE = 'approvals/collect-diagnostics.approval.json';

  it('runs collect-diagnostics under its standing approval when opsbook.yaml names one, and not with --no-evidence', async () => {
    // The standing approval of the evidence runbook, made the same way as the inspection's.
    const recurring = await openTicket('Routine: diagnostics for new tickets');
    await ok([
      ...['ticket', 'propose', recurring, '--runbook', 'collect-diagnostics', '--standing'],
      ...['--target', 'all', '--expires', '30d', '--max-runs', '100', '--senior', 'alice'],
    ]);
    await ok(['ticket', 'approve', recurring, '--key', world.people.alice.keyFile], asAlice);
    await ok(['ticket', 'approval', recurring, '-o', EVIDENCE]);
    await writeFile(
      path.join(world.dir, 'opsbook.yaml'),
      `${baseConfig}standing:\n  daily-inspection: ${FILE}\n  collect-diagnostics: ${EVIDENCE}\n`,
    );

    const r = await ok(['ticket', 'open', '--summary', 'h1: web answers 502', '--json']);
    const opened = JSON.parse(r.stdout) as {
      key: string;
      evidence: { runId: string; status: string } | null;
    };
    expect(opened.evidence?.status).toBe('ok');
    const t = await show(opened.key);
    // The evidence is on the new ticket: the symptoms in full, beside the "Opened by" comment.
    expect(t.local.attachments.length).toBeGreaterThan(0);
    expect(commentsOf(t).some((c) => c.includes('Opened by'))).toBe(true);
    // The evidence run is an ordinary run of the standing approval, on the recurring ticket.
    expect((await show(recurring)).runs.map((x) => x.runId)).toContain(opened.evidence?.runId);

    const bare = await ok([
      ...['ticket', 'open', '--summary', 'h2: nothing to collect', '--no-evidence', '--json'],
    ]);
    const plain = JSON.parse(bare.stdout) as { key: string; evidence: unknown };
    expect(plain.evidence).toBeNull();
    expect((await show(plain.key)).local.attachments).toEqual([]);
  });

  it('opens the ticket without symptoms, saying why, when the evidence run is refused (another inventory)', async () => {
    // The standing approval of the test before covers "all" of the world's inventory: with
    // another one, "all" renders another plan (PLAN_MISMATCH) before any host is touched.
    const other = path.join(world.dir, 'other-inventory.yaml');
    await writeFile(other, 'all:\n  hosts:\n    solo: {ansible_connection: local}\n');
    const summary = ['ticket', 'open', '--summary', 'solo: 502 since 10:02', '--grade', 'P3'];
    const r = await ok([...summary, '-i', other, '--json']);
    const opened = JSON.parse(r.stdout) as {
      key: string;
      evidence: { refused?: { runbook: string; code: string } } | null;
    };
    expect(opened.evidence?.refused).toMatchObject({
      runbook: 'collect-diagnostics',
      code: 'PLAN_MISMATCH',
    });
    const t = await show(opened.key);
    expect(t.ticket.summary).toBe('solo: 502 since 10:02');
    expect(
      commentsOf(t).some((c) =>
        c.includes(
          'the evidence run of collect-diagnostics was refused before it touched a host (PLAN_MISMATCH',
        ),
      ),
    ).toBe(true);
    const text = await ok([...summary, '-i', other]);
    expect(text.stderr).toContain(
      'warning: the evidence run of collect-diagnostics was refused (PLAN_MISMATCH: the commands that would run differ from the approved plan',
    );
    expect(text.stderr).toContain(
      'render it from what it was planned with (the same inventory, -i FILE',
    );
    expect(text.stdout).toMatch(/^opened OPS-\d+/m);
  });
});
