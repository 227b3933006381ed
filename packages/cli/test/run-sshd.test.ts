import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFreePort } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEW_HOSTS_V8_FLAGS, RUN_V8_FLAGS } from '../src/heap-growth.js';
import { approvedFile } from './approval-craft.js';
import { createWorld, exists, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, isAnyProcessMentioning, readJournal, runApproval } from './run-outcome.js';
import {
  dirParam,
  header,
  markerRunbook,
  slowRunbook,
  timeoutRunbook,
} from './runbook-fixtures.js';

/** An inspection whose disk thresholds make most filesystems crit. */
const diskRunbook = {
  yaml: `${header('disk-low', 'change', 'P4', { title: 'Disk usage, low thresholds' })}spec:
  params:
${dirParam}  targets: {default: all}
  steps:
    - id: disk
      name: Filesystem usage
      uses: inspection.disk
      with:
        thresholds: {warn_pct: 1, crit_pct: 2}
`,
};

/*
 * Issue 4, "Done means": `opsbook run` against real OpenSSH sshd hosts on 127.0.0.2-4, through
 * the real binary: several hosts, a host down, a changed host key, a command timeout, sshd
 * killed mid-run, and --accept-new-host-keys.
 */

let world: World;
let downPort: number;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 3,
    runbooks: {
      marker: markerRunbook(),
      slow: slowRunbook,
      timeout: timeoutRunbook,
      'disk-low': diskRunbook,
    },
  });
  // A host in the inventory where nothing listens: a machine that is down.
  downPort = await findFreePort('127.0.0.9');
  await world.writeInventory({
    vars: { h2: { color: 'green' } },
    extraHosts: {
      down: {
        ansible_host: '127.0.0.9',
        ansible_port: downPort,
        ansible_user: 'root',
        ansible_ssh_private_key_file: world.hosts[0]!.clientKeyPath,
        color: 'blue',
      },
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

let fileCount = 0;
/** A fresh approval (signed by alice) for `runbook` on `target`, with the marker folder `dir`. */
async function approve(runbook: string, target: string, dir: string, extra: string[] = []) {
  await mkdir(dir, { recursive: true });
  fileCount += 1;
  return approvedFile(world, runbook, `run-${fileCount}.json`, [world.people.alice], {
    params: { dir },
    target,
    extra,
  });
}

const logins = () => world.hosts.map((h) => h.countLogins());
const markersIn = async (dir: string) => (await readdir(dir)).sort();

describe('opsbook run over real sshd', () => {
  it('runs on three hosts, one reused connection each, and journals every step', async () => {
    const dir = path.join(world.markerDir, 'three');
    const file = await approve('marker', 'h1:h2:h3', dir);
    const before = logins();
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    expect(r.doc?.status).toBe('ok');
    expect(r.doc?.hosts.map((h) => [h.host, h.status, h.steps.length])).toEqual([
      ['h1', 'ok', 2],
      ['h2', 'ok', 2],
      ['h3', 'ok', 2],
    ]);
    expect(await readFile(path.join(dir, 'h2.ran'), 'utf8')).toBe('green\n');
    expect(await readFile(path.join(dir, 'h3.ran'), 'utf8')).toBe('blue\n');
    // prechecks and steps share one authenticated connection per host.
    expect(logins().map((n, i) => n - before[i]!)).toEqual([1, 1, 1]);
    const journal = await readJournal(r.doc!.journal.path);
    expect(
      journal
        .filter((e) => e.type === 'step-end')
        .map((e) => `${e.host}:${e.step}:${e.status}`)
        .sort(),
    ).toEqual([
      'h1:mark-pre:ok',
      'h1:mark:ok',
      'h2:mark-pre:ok',
      'h2:mark:ok',
      'h3:mark-pre:ok',
      'h3:mark:ok',
    ]);
    const verify = await world.opsbook(['journal', 'verify', r.doc!.runId]);
    expect(verify.stdout).toContain(`✓ ${r.doc!.runId}  intact (complete,`);
    expect(verify.code).toBe(0);
  });

  it("counts an inspection's findings in its last lines and in --json", async () => {
    const dir = path.join(world.markerDir, 'findings');
    const text = await world.opsbook(['run', await approve('disk-low', 'h1', dir)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/inspection\.disk: \d+ crit/);
    expect(text.stdout).toMatch(
      /^inspection findings: [1-9]\d* crit(, \d+ (warn|unknown|ok))* \(those not ok are listed above/m,
    );
    const json = await runApproval(world, await approve('disk-low', 'h1', dir));
    expect(json.code, json.stderr).toBe(0);
    const { findings } = json.doc as unknown as { findings: Record<string, number> };
    expect(findings.crit).toBeGreaterThan(0);
  });

  it('calls a journal deleted from the state dir TAMPERED (exit 3), as an edited one', async () => {
    const dir = path.join(world.markerDir, 'deleted-journal');
    const r = await runApproval(world, await approve('marker', 'h1', dir));
    expect(r.code, r.stderr).toBe(0);
    const file = r.doc!.journal.path;
    const aside = `${file}.aside`;
    await rename(file, aside);
    try {
      const all = await world.opsbook(['journal', 'verify']);
      expect(all.stderr).not.toMatch(stackTrace);
      expect(all.code).toBe(3);
      expect(all.stdout).toContain(`✗ ${r.doc!.runId}  TAMPERED (journal missing)`);
      expect(all.stdout).toContain('it was deleted or moved');
    } finally {
      await rename(aside, file);
    }
    expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
  });

  it('names an edited journal line once in runs show (exit 3)', async () => {
    const dir = path.join(world.markerDir, 'edited-journal');
    const r = await runApproval(world, await approve('marker', 'h1', dir));
    expect(r.code, r.stderr).toBe(0);
    const file = r.doc!.journal.path;
    const original = await readFile(file, 'utf8');
    const lines = original.split('\n');
    lines[1] = lines[1]!.replace('"h1"', '"h9"');
    await writeFile(file, lines.join('\n'));
    try {
      const shown = await world.opsbook(['runs', 'show', r.doc!.runId]);
      expect(shown.code).toBe(3);
      expect(shown.stdout).toMatch(/^journal: line 2: /m);
      expect(shown.stdout).not.toMatch(/line 2: line 2/);
    } finally {
      await writeFile(file, original);
    }
  });

  it("compiles no module after setting the run's V8 flags, which would refuse its code cache", async () => {
    // tuneRunV8 sets a V8 flag at run time; V8 then refuses every code cache (Node's own
    // modules' included), so what loads after it is compiled from source. A preloaded probe
    // notes the modules loaded from that moment on: Node's (moduleLoadList) and files
    // (require.cache). The inventory is YAML: reading it must not load the strict YAML parser.
    const dir = path.join(world.markerDir, 'cap');
    const file = await approve('marker', 'h1', dir);
    const probe = path.join(world.dir, 'cap-probe.cjs');
    const report = path.join(world.dir, 'cap-probe.json');
    await writeFile(
      probe,
      `const v8 = require('node:v8');
const set = v8.setFlagsFromString;
let node;
let files;
const flagsSet = [];
v8.setFlagsFromString = (flags) => {
  flagsSet.push(flags);
  node ??= process.moduleLoadList.length;
  files ??= new Set(Object.keys(require.cache));
  return set(flags);
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify({
  capped: node !== undefined,
  flags: flagsSet,
  node: node === undefined ? [] : process.moduleLoadList.slice(node),
  files: files === undefined ? [] : Object.keys(require.cache).filter((f) => !files.has(f)),
  all: Object.keys(require.cache),
})));
`,
    );
    expect(await readFile(world.inventoryFile, 'utf8')).toMatch(/^all:/m);
    const r = await runApproval(world, file, [], { NODE_OPTIONS: `--require ${probe}` });
    expect(r.code, r.stderr).toBe(0);
    const loaded = JSON.parse(await readFile(report, 'utf8')) as {
      capped: boolean;
      flags: string[];
      node: string[];
      files: string[];
      all: string[];
    };
    expect(loaded.capped).toBe(true);
    // A run on one host puts V8's interrupt budget and heap growth back at its run-start: the
    // raised ones would slow a long stream of its steps.
    expect(loaded.flags).toEqual([RUN_V8_FLAGS, FEW_HOSTS_V8_FLAGS]);
    // Bindings are native (nothing to compile); a NativeModule is JavaScript compiled on load.
    expect(loaded.node.filter((m) => m.startsWith('NativeModule '))).toEqual([]);
    expect(loaded.files).toEqual([]);
    // ssh2's JavaScript is inside dist/run.js (its code cache): not one of its files is read and
    // compiled from node_modules. Its native crypto binding and cpu-features (its cipher order)
    // are still loaded from the installed ssh2, as ssh2 itself would load them.
    const installed = loaded.all.flatMap((f) =>
      f
        .split(/[\\/]node_modules[\\/]/)
        .slice(1)
        .slice(-1),
    );
    expect(installed.map((f) => f.split(path.sep).join('/')).sort()).toEqual([
      'cpu-features/build/Release/cpufeatures.node',
      'cpu-features/lib/index.js',
      'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node',
    ]);
  });

  it('exits 4 when a host is down and the others succeeded, and journals the unreachable host', async () => {
    const dir = path.join(world.markerDir, 'down');
    const file = await approve('marker', 'h1:down', dir);
    const r = await runApproval(world, file);
    expect(r.code).toBe(4);
    expect(r.doc?.status).toBe('unreachable');
    expect(hostOf(r.doc, 'h1').status).toBe('ok');
    expect(hostOf(r.doc, 'down')).toMatchObject({ status: 'unreachable', steps: [] });
    expect(hostOf(r.doc, 'down').error).toContain(`127.0.0.9`);
    expect(await markersIn(dir)).toEqual(['h1.pre', 'h1.ran']);
    const journal = await readJournal(r.doc!.journal.path);
    expect(journal.find((e) => e.type === 'host-end' && e.host === 'down')).toMatchObject({
      status: 'unreachable',
    });
    expect(journal.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'unreachable',
      hosts: { h1: 'ok', down: 'unreachable' },
    });
    expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
  });

  it('refuses a host whose host key changed: nothing runs there, the others run', async () => {
    const dir = path.join(world.markerDir, 'changed-key');
    const file = await approve('marker', 'h1:h2:h3', dir);
    const h2 = world.hosts[1]!;
    const oldKey = h2.hostPublicKey;
    await h2.restart({ newHostKey: true });
    try {
      const before = h2.countLogins();
      const r = await runApproval(world, file);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(4);
      expect(hostOf(r.doc, 'h1').status).toBe('ok');
      expect(hostOf(r.doc, 'h3').status).toBe('ok');
      const refused = hostOf(r.doc, 'h2');
      expect(refused).toMatchObject({ status: 'unreachable', steps: [] });
      expect(refused.error).toContain(
        `presented host key ${fingerprintOf(h2.hostPublicKey)}, but ${world.knownHostsFile} line 2 holds ${fingerprintOf(oldKey)}. Nothing was run.`,
      );
      // The marker proves no command ran on h2; sshd proves no login even happened.
      expect(await markersIn(dir)).toEqual(['h1.pre', 'h1.ran', 'h3.pre', 'h3.ran']);
      expect(h2.countLogins()).toBe(before);
    } finally {
      await world.writeKnownHosts(); // trust h2's new key again for the next tests
    }
  });

  it('adds an unknown host key with --accept-new-host-keys but still refuses a changed one', async () => {
    const [h1, h2, h3] = world.hosts as [
      (typeof world.hosts)[0],
      (typeof world.hosts)[0],
      (typeof world.hosts)[0],
    ];
    // known_hosts knows h1, knows an OLD key for h2, and has never seen h3.
    const oldH2 = h2.knownHostsLine;
    await h2.restart({ newHostKey: true });
    await world.writeKnownHosts([h1.knownHostsLine, oldH2]);
    try {
      const strictDir = path.join(world.markerDir, 'strict');
      const strict = await runApproval(world, await approve('marker', 'h1:h2:h3', strictDir));
      expect(strict.code).toBe(4);
      expect(hostOf(strict.doc, 'h3').status).toBe('unreachable');
      expect(hostOf(strict.doc, 'h3').error).toContain(fingerprintOf(h3.hostPublicKey));
      expect(await markersIn(strictDir)).toEqual(['h1.pre', 'h1.ran']);

      const dir = path.join(world.markerDir, 'accept-new');
      const file = await approve('marker', 'h1:h2:h3', dir);
      const r = await runApproval(world, file, ['--accept-new-host-keys']);
      expect(r.code).toBe(4);
      expect(hostOf(r.doc, 'h3').status).toBe('ok');
      expect(hostOf(r.doc, 'h2').status).toBe('unreachable');
      expect(await markersIn(dir)).toEqual(['h1.pre', 'h1.ran', 'h3.pre', 'h3.ran']);
      const known = await readFile(world.knownHostsFile, 'utf8');
      expect(known).toContain(h3.hostPublicKey.split(' ')[1]);
      expect(known).not.toContain(h2.hostPublicKey.split(' ')[1]);
      // The key taken on trust is said, and journaled before any step on that host, so that
      // whoever verifies the run sees which host keys it trusted without a check.
      const said = `[h3] accepted new host key ${fingerprintOf(h3.hostPublicKey)} (ssh-ed25519) of ${h3.host} port ${h3.port}, added to ${world.knownHostsFile}`;
      expect(r.stderr).toContain(said);
      const journal = await readJournal(r.doc!.journal.path);
      const accepted = journal.filter((e) => e.type === 'host-key-accepted');
      expect(accepted).toEqual([
        expect.objectContaining({
          host: 'h3',
          address: h3.host,
          port: h3.port,
          keyType: 'ssh-ed25519',
          fingerprint: fingerprintOf(h3.hostPublicKey),
          knownHostsFile: world.knownHostsFile,
        }),
      ]);
      const h3Events = journal.filter((e) => e.host === 'h3').map((e) => e.type);
      expect(h3Events.slice(0, 4)).toEqual([
        'host-start',
        'host-key-accepted',
        'host-route',
        'step-start',
      ]);
      expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
    } finally {
      await world.writeKnownHosts();
    }
  });

  it('kills a command at its timeout, marks the step timeout, exits 1 and rolls back', async () => {
    const dir = path.join(world.markerDir, 'timeout');
    const file = await approve('timeout', 'h1', dir);
    const r = await runApproval(world, file);
    expect(r.code).toBe(1);
    expect(r.doc?.status).toBe('failed');
    const h1 = hostOf(r.doc, 'h1');
    expect(h1).toMatchObject({
      status: 'failed',
      rolledBack: true,
      failedStep: { phase: 'steps', id: 'hang' },
    });
    expect(h1.steps.map((s) => [s.phase, s.id, s.status])).toEqual([
      ['steps', 'hang', 'timeout'],
      ['rollback', 'undo', 'ok'],
    ]);
    expect(h1.steps[0]!.reason).toMatch(/timed out after 1000 ms/);
    expect(exists(path.join(dir, 'h1.rolled-back'))).toBe(true);
    // The timed-out command is really gone from the host, not left running behind.
    await waitFor(
      async () => !(await isAnyProcessMentioning(`${dir}/`)),
      'the timed-out sleep to die',
    );
  });

  it('fails the host whose sshd dies mid-run with a lost connection; the others finish', async () => {
    const dir = path.join(world.markerDir, 'sshd-killed');
    const file = await approve('slow', 'h1:h2:h3', dir, ['--param', 'seconds=3']);
    const running = world.spawnOpsbook(['run', file, '--json']);
    const h2 = world.hosts[1]!;
    try {
      await waitFor(() => exists(path.join(dir, 'h2.started')), 'h2 to start its first step');
      await h2.kill();
      const r = await running.done;
      expect(r.code).toBe(4);
      const doc = JSON.parse(r.stdout) as NonNullable<
        Awaited<ReturnType<typeof runApproval>>['doc']
      >;
      const lost = hostOf(doc, 'h2');
      expect(lost.status).toBe('unreachable');
      expect(lost.error).toContain('the SSH connection was lost');
      // The report names the step that was running when the host was lost…
      expect(lost.failedStep).toEqual({ phase: 'steps', id: 'first' });
      // …and so does the journal, whose step-end says why.
      const journal = await readJournal(doc.journal.path);
      const ends = journal.filter((e) => e.type === 'step-end' && e.host === 'h2');
      expect(ends.map((e) => [e.step, e.status])).toEqual([['first', 'error']]);
      expect(String(ends[0]!.reason)).toContain('the SSH connection was lost');
      for (const h of ['h1', 'h3']) expect(hostOf(doc, h).status).toBe('ok');
      expect(exists(path.join(dir, 'h2.second'))).toBe(false);
      expect(exists(path.join(dir, 'h1.second'))).toBe(true);
      expect((await world.opsbook(['journal', 'verify', doc.runId])).code).toBe(0);
    } finally {
      await h2.restart();
    }
  });
});

/** `SHA256:…` of an OpenSSH `type base64` public key, as ssh-keygen -l prints it. */
function fingerprintOf(publicKey: string): string {
  const blob = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
