import { mkdir, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFreePort } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveAs,
  approvedFile,
  planApproval,
  readEnvelope,
  statementOf,
} from './approval-craft.js';
import {
  createTicket,
  createWorld,
  exists,
  type RunbookFixture,
  type Site,
  siteOnTmpfs,
  type World,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, journalFiles, runApproval } from './run-outcome.js';

/*
 * Issue 14, items 12-14: what `opsbook run` exits with when the failure is not the work's
 * (a full or read-only state dir), when maxFailures stops a run of unreachable hosts, and when
 * the ticket or the ssh-agent the user named does not exist. Real sshd hosts, a real full
 * filesystem (a small tmpfs), the real binary.
 */

const header = (name: string) => `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: Test runbook ${name}
  category: change
  grade: P3
  owners: [ops-test]
`;
const dirParam = `    dir: {type: string, required: true, pattern: "^/", description: Marker folder}\n`;

/** One host at a time, stop after the first failed host; a host whose color is red fails. */
const stopEarlyRunbook: RunbookFixture = {
  yaml: `${header('stop-early')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 1, maxFailures: 0}
  steps:
    - id: check-color
      name: Fail on a red host
      run: touch {{ params.dir }}/{{ host.name }}.ran && test {{ host.vars.color }} != red
`,
};

/** The first step fills the filesystem of `fill` and prints 8 KB; the second leaves a marker. */
const fillDiskRunbook: RunbookFixture = {
  yaml: `${header('fill-disk')}spec:
  params:
${dirParam}    fill: {type: string, required: true, pattern: "^/", description: File that fills its disk}
  targets: {default: all, concurrency: 1, maxFailures: 5}
  prechecks:
    - id: mark-pre
      name: Leave a marker
      run: touch {{ params.dir }}/{{ host.name }}.pre
  steps:
    - id: fill
      name: Fill the disk, then print more than a page
      run: cat /dev/zero > {{ params.fill }} 2>/dev/null; head -c 8000 /dev/zero | tr '\\0' x; echo
    - id: after
      name: Must not start once the journal cannot be written
      run: touch {{ params.dir }}/{{ host.name }}.after
`,
};

/** Each step prints 60,000 characters: the journal keeps them, and a small state dir fills up. */
const loudRunbook: RunbookFixture = {
  yaml: `${header('loud')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 1, maxFailures: 5}
  steps:
${Array.from(
  { length: 12 },
  (_, i) => `    - id: loud-${i + 1}
      name: Print a lot
      run: touch {{ params.dir }}/{{ host.name }}.${i + 1} && head -c 60000 /dev/urandom | base64 -w 0
`,
).join('')}`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: { 'stop-early': stopEarlyRunbook, 'fill-disk': fillDiskRunbook, loud: loudRunbook },
  });
  // Hosts in the inventory where nothing listens: machines that are down.
  const down = (port: number) => ({
    ansible_host: '127.0.0.9',
    ansible_port: port,
    ansible_user: 'root',
    ansible_ssh_private_key_file: world.hosts[0]!.clientKeyPath,
    color: 'blue',
  });
  await world.writeInventory({
    vars: { h2: { color: 'red' } },
    extraHosts: {
      down1: down(await findFreePort('127.0.0.9')),
      down2: down(await findFreePort('127.0.0.9')),
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

let fileCount = 0;
async function approve(
  site: Site,
  runbook: string,
  target: string,
  params: Record<string, string>,
) {
  fileCount += 1;
  return approvedFile(site, runbook, `exit-${fileCount}.json`, [world.people.alice], {
    params,
    target,
  });
}

async function markerDir(name: string): Promise<string> {
  const dir = path.join(world.markerDir, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('the exit code of a run that maxFailures stopped', () => {
  it('is 4 when every failed host was unreachable, as without the stop', async () => {
    const dir = await markerDir('stop-unreachable');
    const file = await approve(world, 'stop-early', 'down1:down2', { dir });
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.doc?.status).toBe('unreachable');
    expect(hostOf(r.doc, 'down1').status).toBe('unreachable');
    expect(hostOf(r.doc, 'down2').status).toBe('not-started');
    expect(r.code).toBe(4);
    // The run's summary and `runs show` say why down2 was not started.
    const again = await approve(world, 'stop-early', 'down1:down2', { dir });
    const plain = await world.opsbook(['run', again]);
    expect(plain.stdout).toContain(
      "1 host(s) not started: 1 host(s) failed, more than the runbook's maxFailures (0) tolerates",
    );
    const runId = /run (\d{8}-\d{6}-\w+)/.exec(plain.stdout)?.[1];
    const shown = await world.opsbook(['runs', 'show', String(runId)]);
    expect(shown.stdout).toMatch(
      /host down2\n {2}→ not started: more hosts had failed than the runbook's maxFailures tolerates/,
    );
  });

  it('is 1 when a step failed, whatever else was unreachable', async () => {
    const dir = await markerDir('stop-step-failed');
    // h2 (red) fails its step, down1 is unreachable: maxFailures 0 stops before down2.
    const file = await approve(world, 'stop-early', 'h2:down1:down2', { dir });
    const r = await runApproval(world, file);
    expect(hostOf(r.doc, 'h2').status).toBe('failed');
    expect(r.doc?.status).toBe('failed');
    expect(r.code).toBe(1);
  });
});

describe('refusals that are not an unreachable host', () => {
  it('is 2 for an inventory broken after the approval, naming its file and line (fix it: no new signature)', async () => {
    const dir = await markerDir('broken-inventory');
    const file = await approve(world, 'stop-early', 'h1', { dir });
    const before = await readFile(world.inventoryFile, 'utf8');
    try {
      await writeFile(world.inventoryFile, `${before}  oops: [unclosed\n`);
      const r = await world.opsbook(['run', file]);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${path.basename(world.inventoryFile)}:`);
      expect(r.stderr).not.toContain('PLAN_MISMATCH');
      expect(r.stderr).not.toContain('ask for a new approval');
    } finally {
      await writeFile(world.inventoryFile, before);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('plan refuses (exit 2) a ticket that does not exist, writing nothing', async () => {
    const r = await world.opsbook([
      'plan',
      'stop-early',
      '--ticket',
      'OPS-9999',
      '--target',
      'h1',
      '--param',
      `dir=${await markerDir('no-ticket-plan')}`,
      '-o',
      'approvals/no-ticket-plan.json',
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OPS-9999 does not exist in the local tracker');
    expect(r.stderr).toContain('opsbook ticket open');
    expect(exists(path.join(world.dir, 'approvals', 'no-ticket-plan.json'))).toBe(false);
  });

  it('approve warns of a ticket the local tracker no longer has, and run refuses one deleted since the approval', async () => {
    const dir = await markerDir('no-ticket');
    const ticket = await createTicket(world);
    const ticketFile = path.join(world.stateDir, 'tracker', 'tickets', `${ticket}.json`);
    const signed = await planApproval(world, 'stop-early', 'no-ticket.json', {
      ticket,
      params: { dir },
      target: 'h1',
    });
    await approveAs(world, signed, world.people.alice);
    const unsigned = await planApproval(world, 'stop-early', 'no-ticket-unsigned.json', {
      ticket,
      params: { dir },
      target: 'h1',
    });
    const before = await readFile(unsigned, 'utf8');
    const kept = await readFile(ticketFile);
    await rm(ticketFile);
    try {
      // The local tracker is this machine's: approve warns (a Jira ticket is refused, see the
      // runner's ticket-exists test), and run refuses on the machine that runs it.
      const approve = await world.opsbook([
        'approve',
        unsigned,
        '--key',
        world.people.alice.keyFile,
      ]);
      expect(approve.stderr).not.toMatch(stackTrace);
      expect(approve.code, approve.stderr).toBe(0);
      expect(approve.stderr).toContain(`warning: ${ticket} is not in this machine's local tracker`);
      expect(await readFile(unsigned, 'utf8')).not.toBe(before);

      const r = await world.opsbook(['run', signed]);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).toMatch(/^refused \(TRACKER_TICKET_NOT_FOUND\): /);
      expect(r.stderr).toContain(ticket);
      expect(r.stderr).toContain('nothing was run');
      expect(r.code).toBe(3);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await writeFile(ticketFile, kept);
    }
  });

  it('refuses (exit 3) `ticket run` of a ticket that does not exist', async () => {
    const r = await world.opsbook(['ticket', 'run', 'OPS-9998']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).toMatch(/^refused \(TRACKER_TICKET_NOT_FOUND\): /);
    expect(r.stderr).toContain('OPS-9998');
    expect(r.code).toBe(3);
  });

  it('calls --agent without an ssh-agent a usage error (exit 2): start ssh-agent or pass --key', async () => {
    const dir = await markerDir('no-agent');
    const file = await planApproval(world, 'stop-early', 'no-agent.json', {
      params: { dir },
      target: 'h1',
    });
    for (const env of [{ SSH_AUTH_SOCK: '' }, { SSH_AUTH_SOCK: path.join(dir, 'gone.sock') }]) {
      const r = await world.opsbook(['approve', file, '--agent'], { env });
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).toContain('start ssh-agent');
      expect(r.stderr).toContain('--key');
      expect(r.code).toBe(2);
    }
    const key = await createTicket(world, false);
    const r = await world.opsbook(['ticket', 'approve', key, '--agent']);
    expect(r.stderr).toContain('start ssh-agent');
    expect(r.code).toBe(2);
  });
});

describe('a state dir that cannot be written', () => {
  it('exits 1 naming the full state dir, starts nothing more, and leaves a journal that verifies', async () => {
    const dir = await markerDir('disk-full');
    const tmpfs = await siteOnTmpfs(world, 'opsbook-full', 1024);
    try {
      const { site } = tmpfs;
      const fill = path.join(site.stateDir, 'filler');
      const file = await approve(site, 'fill-disk', 'h1:h2', { dir, fill });
      const before = new Set(await journalFiles(site));
      const r = await site.opsbook(['run', file, '--quiet']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).not.toContain('unexpected error');
      expect(r.stderr).toMatch(
        /^error \(DISK_FULL\): cannot write the journal \S+: no space left on the device \(ENOSPC\)\. The run stopped there: no step started after it/m,
      );
      expect(r.stderr).toContain(site.stateDir);
      expect(r.code).toBe(1);
      // The step after the failed write never started, nor did the next host.
      expect((await readdir(dir)).sort()).toEqual(['h1.pre']);
      // Once there is room again, the journal verifies: intact, as far as it was written.
      await rm(fill);
      const [journal] = (await journalFiles(site)).filter((f) => !before.has(f));
      const runId = path.basename(journal!, '.jsonl');
      const verify = await site.opsbook(['journal', 'verify', runId]);
      expect(verify.stdout).toContain(`✓ ${runId}  intact (incomplete`);
      expect(verify.code).toBe(0);
    } finally {
      await tmpfs.unmount();
    }
  });

  it("exits 1 when the run's own output fills the state dir, mid-run or at its ticket's end, naming the place; the journal verifies", async () => {
    // 512 KiB: the journal itself fills it mid-run. 1 MiB: the journal (12 steps of ~64 Ki
    // characters kept) fits, and the copy of it the ticket's end queues in the outbox does not.
    for (const [kb, place] of [
      [512, 'the journal'],
      [1024, 'the outbox'],
    ] as const) {
      const dir = await markerDir(`loud-${kb}`);
      const tmpfs = await siteOnTmpfs(world, `opsbook-loud-${kb}`, kb);
      try {
        const { site } = tmpfs;
        const file = await approve(site, 'loud', 'h1', { dir });
        const { ticket } = statementOf(await readEnvelope(file));
        const before = new Set(await journalFiles(site));
        const r = await site.opsbook(['run', file, '--quiet']);
        expect(r.stderr).not.toMatch(stackTrace);
        expect(r.stderr).not.toContain('unexpected error');
        expect(r.code, `${kb} KiB: ${r.stderr}${r.stdout}`).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(
            `^error \\(DISK_FULL\\): cannot write ${place} ${site.stateDir}/\\S+: no space left on the device \\(ENOSPC\\)\\. .*opsbook ticket report ${ticket}.*Free space on that filesystem, or set stateDir in opsbook.yaml to another place\\.$`,
            'm',
          ),
        );
        if (place === 'the outbox') {
          // Said in words, with what stands: not Node's errno text after "ok".
          expect(r.stderr).toContain('The run ended ok and its journal');
          expect(r.stderr).not.toContain('no space left on device, write');
        }
        const [journal] = (await journalFiles(site)).filter((f) => !before.has(f));
        const runId = path.basename(journal!, '.jsonl');
        const verify = await site.opsbook(['journal', 'verify', runId]);
        expect(verify.code, verify.stderr).toBe(0);
        expect(verify.stdout).toContain(
          `✓ ${runId}  intact (${place === 'the journal' ? 'incomplete' : 'complete'}`,
        );
      } finally {
        await tmpfs.unmount();
      }
    }
  });

  it("says that the full disk kept the run's end from its ticket, and what reports it once there is room", async () => {
    const dir = await markerDir('disk-full-ticket');
    const tmpfs = await siteOnTmpfs(world, 'opsbook-full-ticket', 1024);
    try {
      const { site } = tmpfs;
      const fill = path.join(site.stateDir, 'filler');
      const file = await approve(site, 'fill-disk', 'h1', { dir, fill });
      const { ticket } = statementOf(await readEnvelope(file));
      const r = await site.opsbook(['run', file, '--quiet']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(1);
      // The disk's refusal in our words, never Node's errno text.
      expect(r.stderr).not.toMatch(/ENOSPC: no space left on device/);
      // The same full disk refused the outbox: no flush can send what was never queued.
      expect(r.stderr).toMatch(
        new RegExp(
          `^error \\(DISK_FULL\\): cannot write the journal .*; its ticket ${ticket} was not told how the run ended \\(no space left on the device, ENOSPC\\): once the store takes writes again, opsbook ticket report ${ticket} reports it or says what to do\\. Free space`,
          'm',
        ),
      );
      await rm(fill);
      const flush = await site.opsbook(['outbox', 'flush']);
      expect(flush.stdout).toContain('delivered 0 write(s); 0 still waiting');
      // What the message points to names the way out for a run whose journal has no end.
      const report = await site.opsbook(['ticket', 'report', ticket, '--approval', file]);
      expect(report.stderr).not.toMatch(stackTrace);
      expect(report.stdout).toContain('its journal has no end');
      expect(report.stdout).toContain(`opsbook ticket reject ${ticket}`);
      expect(report.code).toBe(3);
    } finally {
      await tmpfs.unmount();
    }
  });

  it("says when the full disk also kept the run's start from its ticket (still Approved), and ticket report delivers it first", async () => {
    // How much room the start's writes leave for their delivery depends on the state dir's
    // sizes: the run is tried with a few pages left until one queues them but cannot deliver them.
    let seen = false;
    for (let pages = 4; pages <= 9 && !seen; pages++) {
      const dir = await markerDir(`start-kept-${pages}`);
      const tmpfs = await siteOnTmpfs(world, `opsbook-start-kept-${pages}`, 1024);
      try {
        const { site } = tmpfs;
        // The step fills only the state dir's own filesystem, never the machine's.
        const file = await approve(site, 'fill-disk', 'h1', {
          dir,
          fill: path.join(site.stateDir, 'step-filler'),
        });
        const { ticket } = statementOf(await readEnvelope(file));
        const filler = path.join(site.stateDir, 'filler');
        const { bavail, bsize } = await statfs(site.stateDir);
        await writeFile(filler, Buffer.alloc(Number(bavail) * Number(bsize) - pages * 4096));
        const r = await site.opsbook(['run', file, '--quiet']);
        expect(r.stderr).not.toMatch(stackTrace);
        const outbox = await site.opsbook(['outbox', 'list']);
        if (!outbox.stdout.includes('transition → In Progress')) continue;
        // With as few pages the ledger may still record the run's end (the message then says
        // the store records it as interrupted, and nothing of the ticket's end): the case looked
        // for is the one where the ticket's end is what the disk refused.
        if (!r.stderr.includes('was not told how the run ended')) continue;
        seen = true;
        expect((await site.opsbook(['ticket', 'show', ticket])).stdout).toContain(
          'status: Approved',
        );
        // How many of the start's three writes the disk let through before it refused one
        // depends on the pages left; the move to In Progress is among those that wait.
        const waiting = new RegExp(
          `its ticket ${ticket} was not told how the run ended \\(no space left on the device, ENOSPC\\), and ([123]) write\\(s\\) of its start \\(its move to In Progress\\) still wait in the outbox, so it does not show In Progress yet: once the store takes writes again, opsbook ticket report ${ticket} delivers them first, then reports the run or says what to do`,
        ).exec(r.stderr);
        expect(waiting, r.stderr).not.toBeNull();
        await rm(filler);
        await rm(path.join(site.stateDir, 'step-filler'), { force: true });
        const report = await site.opsbook(['ticket', 'report', ticket, '--approval', file]);
        // The writes the run's message said still wait, no more, no fewer.
        expect(report.stdout).toContain(
          `delivered ${waiting![1]} write(s) to ${ticket} that waited in the outbox`,
        );
        expect((await site.opsbook(['ticket', 'show', ticket])).stdout).toContain(
          'status: In Progress',
        );
      } finally {
        await tmpfs.unmount();
      }
    }
    expect(seen).toBe(true);
  });

  it('exits 1 naming a read-only state dir, and runs nothing', async () => {
    const dir = await markerDir('read-only');
    const tmpfs = await siteOnTmpfs(world, 'opsbook-ro', 1024);
    try {
      const { site } = tmpfs;
      const file = await approve(site, 'stop-early', 'h1', { dir });
      await tmpfs.remount('ro');
      const r = await site.opsbook(['run', file]);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).toBe(
        `error (READ_ONLY_FILESYSTEM): cannot write the state dir ${site.stateDir}: the filesystem is read-only (EROFS). Nothing was run. Remount it read-write, or set stateDir in opsbook.yaml to another place.\n`,
      );
      expect(r.code).toBe(1);
      expect(exists(path.join(dir, 'h1.ran'))).toBe(false);
      // The doctor names the read-only mount, not a permission the user lacks.
      const doctor = await site.opsbook(['doctor']);
      // (The area column is as wide as the longest area the doctor reports, e.g. "known hosts".)
      expect(doctor.stdout).toMatch(
        new RegExp(
          `✗ state +${site.stateDir} is on a read-only filesystem: no run could journal\n +→ remount it read-write, or set stateDir in opsbook.yaml to another place`,
        ),
      );
      expect(doctor.code).toBe(1);
    } finally {
      await tmpfs.unmount();
    }
  });
});
