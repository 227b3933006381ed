import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createTicket, createWorld, expectOk, type World } from './opsbook-world.js';
import { binPath, stackTrace } from './run-cli.js';
import { markerRunbook, secretRunbook } from './runbook-fixtures.js';

const sh = promisify(execFile);
let world: World;

beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: { marker: markerRunbook(), 'secret-token': secretRunbook },
  });
});
afterAll(async () => {
  await world?.remove();
});

/** Runs a hint as a person pasting it would: through sh, `opsbook` being the built binary. */
async function paste(hint: string, home: string): Promise<{ code: number; out: string }> {
  const command = hint.replace(/^opsbook /, `${JSON.stringify(process.execPath)} ${binPath} `);
  try {
    const { stdout, stderr } = await sh('sh', ['-c', command], {
      cwd: world.dir,
      env: { ...world.env, HOME: home, NO_COLOR: '1' },
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('what a senior reads before signing', () => {
  it('is every script the plan runs, whole and numbered, in plan --show and in approve', async () => {
    const file = await planApproval(world, 'secret-token', 'scripts-shown.json', {
      params: { dir: world.markerDir },
    });
    const expectScript = (out: string) => {
      expect(out).toMatch(/script scripts\/use-token\.sh {2}\(sha256 [0-9a-f]{16}…, 4 lines\)/);
      expect(out).toContain(
        '  1  #!/bin/sh\n  2  set -eu\n  3  printf %s "$OPSBOOK_PARAM_TOKEN" | sha256sum',
      );
    };
    const shown = await world.opsbook(['plan', '--show', file]);
    expect(shown.code, shown.stderr).toBe(0);
    expectScript(shown.stdout);
    const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile]);
    expect(approved.code, approved.stderr).toBe(0);
    expectScript(approved.stdout);
  });
});

describe('the hints plan and approve print', () => {
  it('are commands that work when pasted: they keep -i and quote what needs it', async () => {
    // An inventory other than opsbook.yaml's (only h1), in a folder with a space in its name:
    // a hint that dropped -i would re-render h1 and h2 and see a different plan.
    const other = path.join(world.dir, 'other inv');
    await mkdir(other, { recursive: true });
    const full = await readFile(world.inventoryFile, 'utf8');
    const onlyH1 = full.split(/\n(?= {4}h2:)/)[0]!;
    await writeFile(path.join(other, 'only h1.yaml'), `${onlyH1.trimEnd()}\n`);
    const inventory = path.join(other, 'only h1.yaml');
    const file = path.join(other, 'OPS plan.approval.json');
    const marker = path.join(world.markerDir, 'hints');
    await mkdir(marker, { recursive: true });
    const planned = await world.opsbook([
      'plan',
      'marker',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${marker}`,
      '-i',
      inventory,
      '-o',
      file,
    ]);
    expect(planned.code, planned.stderr).toBe(0);
    const show = /reviews it \((opsbook plan --show .+)\) and signs it/.exec(planned.stdout)?.[1];
    const approve = /^\s+(opsbook approve .+?)\s{2,}\(or --agent/m.exec(planned.stdout)?.[1];
    expect(show).toContain(`-i '${inventory}'`);
    expect(approve).toContain(`-i '${inventory}'`);
    const shown = await paste(show!, world.env.HOME!);
    expect(shown.code, shown.out).toBe(0);
    // The senior pastes the approve hint in their own home, where ~/.ssh/id_ed25519 is their key.
    const aliceHome = path.join(world.dir, 'home-alice');
    await mkdir(path.join(aliceHome, '.ssh'), { recursive: true });
    await copyFile(world.people.alice.keyFile, path.join(aliceHome, '.ssh', 'id_ed25519'));
    const approved = await paste(approve!, aliceHome);
    expect(approved.code, approved.out).toBe(0);
    const verify = /Check it: (opsbook verify .+)$/m.exec(approved.out)?.[1];
    expect(verify).toContain(`-i '${inventory}'`);
    const verified = await paste(verify!, world.env.HOME!);
    expect(verified.code, verified.out).toBe(0);
  });
});

describe('opsbook approve says before signing what run would refuse', () => {
  it('refuses (exit 3, nothing signed) a key that is unknown, not a senior, or revoked, and a window the policy forbids', async () => {
    const marker = path.join(world.markerDir, 'approve-checks');
    await mkdir(marker, { recursive: true });
    const file = path.join(world.dir, 'approve-checks.approval.json');
    const planned = await world.opsbook([
      'plan',
      'marker',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${marker}`,
      '-o',
      file,
    ]);
    expect(planned.code, planned.stderr).toBe(0);
    const before = await readFile(file, 'utf8');
    for (const [who, code] of [
      ['mallory', 'SIGNER_UNTRUSTED'],
      ['dave', 'SIGNER_NOT_SENIOR'],
      ['erin', 'KEY_REVOKED'],
    ] as const) {
      const r = await world.opsbook(['approve', file, '--key', world.people[who].keyFile]);
      expect(r.code, `${who}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`refused (${code})`);
      expect(r.stderr).toContain('nothing was signed');
      expect(await readFile(file, 'utf8')).toBe(before);
    }
    const long = await world.opsbook([
      'approve',
      file,
      '--key',
      world.people.alice.keyFile,
      '--expires',
      '3650d',
    ]);
    expect(long.code, long.stderr).toBe(3);
    expect(long.stderr).toContain('refused (VALIDITY_TOO_LONG)');
    expect(await readFile(file, 'utf8')).toBe(before);
    const ok = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe("approve's next steps follow the ticket's status", () => {
  it('on an Open ticket of the local tracker, names the ticket flow instead of promising a run', async () => {
    const key = await createTicket(world, false);
    const file = await planApproval(world, 'marker', 'open-ticket.approval.json', {
      ticket: key,
      params: { dir: world.markerDir },
    });
    const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile]);
    // Signed all the same: the signature is not refused, only the promise is dropped.
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('it now carries 1 signature(s)');
    expect(approved.stdout).toContain(
      `warning: opsbook run refuses this approval while ${key} is "Open" (it starts only on "Approved" or "In Progress")`,
    );
    expect(approved.stdout).toContain(`opsbook ticket propose ${key}`);
    expect(approved.stdout).toContain(`opsbook ticket approve ${key}`);
    expect(approved.stdout).not.toContain('Run it');
    const json = await world.opsbook([
      'approve',
      file,
      '--key',
      world.people.bob.keyFile,
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).ticket).toMatchObject({ key, ready: false, status: 'Open' });
  });

  it('on an Approved ticket, says how to check and run it', async () => {
    const file = await planApproval(world, 'marker', 'approved-ticket.approval.json', {
      params: { dir: world.markerDir },
    });
    const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).not.toContain('warning:');
    expect(approved.stdout).toMatch(/^Check it: opsbook verify /m);
    expect(approved.stdout).toMatch(/^Run it \(the engineer, with their own key\): opsbook run /m);
  });
});

describe("approve's next steps follow the approval the ticket carries", () => {
  it("on a ticket that carries another approval, says run refuses this file and names the ticket's run instead", async () => {
    const asAlice = { env: { OPSBOOK_USER: 'alice' } };
    const opened = await expectOk(
      world.opsbook(['ticket', 'open', '--summary', 'web: two plans', '--json']),
      'ticket open',
    );
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const dir = path.join(world.markerDir, 'two-plans');
    await mkdir(dir, { recursive: true });
    await expectOk(
      world.opsbook([
        ...['ticket', 'propose', key, '--runbook', 'marker'],
        ...['--param', `dir=${dir}`, '--senior', 'alice'],
      ]),
      'ticket propose',
    );
    await expectOk(
      world.opsbook(['ticket', 'approve', key, '--key', world.people.alice.keyFile], asAlice),
      'ticket approve',
    );
    // A plan made and signed beside the ticket's: the ticket is Approved, but carries the other.
    const file = await planApproval(world, 'marker', 'not-current.approval.json', {
      ticket: key,
      params: { dir },
    });
    const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('it now carries 1 signature(s)');
    expect(approved.stdout).toMatch(
      new RegExp(
        `^warning: opsbook run refuses this approval \\(APPROVAL_NOT_CURRENT\\): ${key} carries approval \\S+, not this one \\(\\S+\\), so this file will not run`,
        'm',
      ),
    );
    expect(approved.stdout).toContain(`Run the ticket's approval (opsbook ticket run ${key})`);
    expect(approved.stdout).toContain(`propose this plan on ${key} again`);
    expect(approved.stdout).not.toContain('Run it');
    expect(approved.stdout).not.toMatch(/opsbook (run|verify) \S*not-current/);
    // What it says is what run does: this file is refused, the ticket's approval runs.
    const run = await world.opsbook(['run', file]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('refused (APPROVAL_NOT_CURRENT)');
    expect(run.stderr).not.toMatch(stackTrace);
    await expectOk(world.opsbook(['ticket', 'run', key, '--quiet']), 'ticket run');
  });
});

describe('opsbook plan --executor', () => {
  it('refuses (exit 2, no file written) a name approvers.yaml does not list, with the closest id, as --senior does', async () => {
    const ticket = await createTicket(world);
    const file = path.join(world.dir, 'executor.approval.json');
    const plan = (executor: string) =>
      world.opsbook([
        ...['plan', 'marker', '--ticket', ticket, '--param', `dir=${world.markerDir}`],
        ...['--executor', executor, '-o', file, '--force'],
      ]);
    const typo = await plan('grcae');
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toContain('--executor grcae is not in');
    expect(typo.stderr).toContain('did you mean grace?');
    expect(typo.stderr).not.toMatch(stackTrace);
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    // mallory has a key but is not listed: no run claim of theirs would verify.
    const unlisted = await plan('mallory');
    expect(unlisted.code, unlisted.stderr).toBe(2);
    expect(unlisted.stderr).toContain('--executor mallory is not in');
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    const listed = await plan('grace');
    expect(listed.code, listed.stderr).toBe(0);
    const shown = await world.opsbook(['plan', '--show', file, '--json']);
    expect(JSON.parse(shown.stdout).statement.executor).toBe('grace');
  });
});

describe('opsbook plan refuses a window the policy forbids', () => {
  it('exits 3 with VALIDITY_TOO_LONG and writes no approval file, as approve and run would refuse it', async () => {
    const marker = path.join(world.markerDir, 'plan-window');
    await mkdir(marker, { recursive: true });
    const file = path.join(world.dir, 'plan-window.approval.json');
    const long = await world.opsbook([
      'plan',
      'marker',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${marker}`,
      '--expires',
      '3650d',
      '-o',
      file,
    ]);
    expect(long.code, long.stderr).toBe(3);
    expect(long.stderr).toContain('refused (VALIDITY_TOO_LONG)');
    expect(long.stderr).toMatch(/--expires \d+[dh] or less/);
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
