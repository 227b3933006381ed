import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { openTracker } from '@opsbook/runner';
import { loadConfig } from '@opsbook/schema';
import { makeSshKeyPair, approversYaml as storeYaml } from '@opsbook/testkit/approvers';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { binPath, type CliResult, runCli, userEnv } from './run-cli.js';

/*
 * A whole opsbook installation for end-to-end tests of the real binary: seniors with keys made
 * by the real ssh-keygen, a trust store pinned with `opsbook trust init`, runbooks written by the
 * test, an inventory of real sshd hosts on 127.0.0.2…, and their known_hosts file. Nothing is
 * mocked: every command goes through `node dist/bin.js` as a user would type it.
 */

export const execFileAsync = promisify(execFile);

export interface Person {
  id: string;
  keyFile: string;
  publicLine: string;
  fingerprint: string;
}

export interface RunbookFixture {
  yaml: string;
  version?: string;
  /** Extra files of the runbook folder (scripts/…), by relative path. */
  files?: Record<string, string>;
}

/** One opsbook.yaml with its own runbooks, inventory, trust store and state dir. */
export interface Site {
  dir: string;
  runbooksDir: string;
  stateDir: string;
  inventoryFile: string;
  trustStoreFile: string;
  /**
   * This site's machine trust pin (OPSBOOK_TRUST_DIR): a site stands for another machine, so it
   * has its own, where /etc/opsbook/trust would be on a real one.
   */
  trustPinDir: string;
  /** The environment every command of this site gets (OPSBOOK_USER, an isolated HOME, …). */
  env: NodeJS.ProcessEnv;
  opsbook(
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; input?: string },
  ): Promise<CliResult>;
  /** Starts `opsbook` and returns the process, for tests that signal or kill it. */
  spawnOpsbook(args: string[], options?: { env?: NodeJS.ProcessEnv }): RunningCli;
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

export type PersonName = 'alice' | 'bob' | 'dave' | 'erin' | 'grace' | 'mallory';

export interface World extends Site {
  hosts: Sshd[];
  /** Inventory names of the sshd hosts: h1 → 127.0.0.2, h2 → 127.0.0.3, … */
  hostNames: string[];
  people: Record<PersonName, Person>;
  knownHostsFile: string;
  /** Where fixture runbooks leave their marker files (one folder shared by every "host"). */
  markerDir: string;
  /** A copy of this site (runbooks, inventory, trust store, state dir) to change without harm. */
  createSite(name: string): Promise<Site>;
  /** Writes the inventory again, e.g. with an extra host or changed host vars. */
  writeInventory(options?: InventoryOptions, file?: string): Promise<void>;
  writeKnownHosts(lines?: string[]): Promise<void>;
  remove(): Promise<void>;
}

export interface InventoryOptions {
  /** Vars per host name, merged over the defaults (color: blue). */
  vars?: Record<string, Record<string, string | number>>;
  /** Extra hosts beyond the sshd ones, with all their vars. */
  extraHosts?: Record<string, Record<string, string | number>>;
}

/** The people of the last world built, by id (crafted approvals are proposed by theirs). */
export const peopleById = new Map<string, Person>();

/** The acting engineer of every command unless a test says otherwise: listed as an engineer, not a senior. */
export const ENGINEER = 'grace';

export async function makePerson(
  dir: string,
  id: string,
  type: 'ed25519' | 'ecdsa' = 'ed25519',
): Promise<Person> {
  const { keyFile, publicLine, fingerprint } = await makeSshKeyPair(dir, id, {
    type,
    fileName: `${id}_key`,
  });
  return { id, keyFile, publicLine, fingerprint };
}

export function approversYaml(people: Record<PersonName, Person>, version = 1, extra = ''): string {
  const p = people;
  const one = (id: PersonName, name: string, roles: string[]) => ({
    id,
    name,
    roles,
    keys: [p[id].publicLine],
  });
  return storeYaml(
    [
      one('alice', 'Alice Senior', ['senior']),
      one('bob', 'Bob Senior', ['senior']),
      one('dave', 'Dave Expert', ['expert']),
      one('erin', 'Erin Senior', ['senior']),
      one('grace', 'Grace Engineer', ['engineer']),
    ],
    { version, revoked: [{ fingerprint: p.erin.fingerprint, reason: 'laptop stolen' }], extra },
  );
}

const CONFIG = (knownHosts: string) => `apiVersion: opsbook/v1
kind: Config
runbooks: runbooks
stateDir: state
inventory: inventory.yaml
trustStore: approvers.yaml
knownHosts: ${JSON.stringify(knownHosts)}
tracker: {kind: local}
`;

export async function writeRunbook(
  runbooksDir: string,
  name: string,
  fixture: RunbookFixture,
): Promise<string> {
  const dir = path.join(runbooksDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: `@runbooks/${name}`, version: fixture.version ?? '1.0.0', private: true }, null, 2)}\n`,
  );
  await writeFile(path.join(dir, 'runbook.yaml'), fixture.yaml);
  for (const [rel, text] of Object.entries(fixture.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text, { mode: 0o755 });
  }
  return dir;
}

function siteOf(dir: string, env: NodeJS.ProcessEnv): Site {
  const trustPinDir = path.join(dir, 'trust-pin');
  const siteEnv = { ...env, OPSBOOK_TRUST_DIR: trustPinDir };
  return {
    dir,
    trustPinDir,
    runbooksDir: path.join(dir, 'runbooks'),
    stateDir: path.join(dir, 'state'),
    inventoryFile: path.join(dir, 'inventory.yaml'),
    trustStoreFile: path.join(dir, 'approvers.yaml'),
    env: siteEnv,
    opsbook: (args, options = {}) =>
      runCli(args, {
        cwd: dir,
        env: { ...siteEnv, ...options.env },
        ...(options.input !== undefined ? { input: options.input } : {}),
      }),
    spawnOpsbook: (args, options = {}) => spawnCli(args, dir, { ...siteEnv, ...options.env }),
  };
}

/** `opsbook ARGS` started in `cwd`, its output collected as it comes. */
export function spawnCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd,
    env: userEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? -1 : null), stdout, stderr }),
    );
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

function inventoryYaml(hosts: Sshd[], names: string[], options: InventoryOptions): string {
  const lines = ['all:', '  hosts:'];
  const add = (name: string, vars: Record<string, string | number>) => {
    lines.push(`    ${name}:`);
    for (const [k, v] of Object.entries(vars)) lines.push(`      ${k}: ${JSON.stringify(v)}`);
  };
  hosts.forEach((h, i) => {
    const name = names[i]!;
    add(name, {
      ansible_host: h.host,
      ansible_port: h.port,
      ansible_user: 'root',
      ansible_ssh_private_key_file: h.clientKeyPath,
      color: 'blue',
      ...options.vars?.[name],
    });
  });
  for (const [name, vars] of Object.entries(options.extraHosts ?? {})) add(name, vars);
  return `${lines.join('\n')}\n`;
}

/**
 * Polls a condition a bounded number of times: it only waits, it never fails a test for being
 * slow (no wall-clock assertion).
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export const exists = (file: string): boolean => existsSync(file);

/**
 * Presses Ctrl-C (SIGINT) once on a running opsbook and waits until it has said so ("Ctrl-C
 * again …": no new step or host starts): the first of the two a test of stopping needs.
 */
export async function firstCtrlC(running: RunningCli): Promise<void> {
  running.child.kill('SIGINT');
  await waitFor(() => running.stderr().includes('Ctrl-C again'), 'the first interrupt to be noted');
}

/**
 * Builds a world: `hostCount` sshd hosts, six people (alice and bob seniors, dave an expert,
 * erin a senior whose key is revoked, grace the engineer who runs, with her key in ~/.ssh,
 * mallory unknown), the runbooks given, `trust init` done.
 */
export async function createWorld(options: {
  hostCount?: number;
  runbooks: Record<string, RunbookFixture>;
  /** More sshd_config lines for every host (e.g. a server that allows one cipher only). */
  sshdConfig?: string[];
  /** sshd's LogLevel on every host (testkit's startSshd); default INFO. */
  sshdLogLevel?: 'INFO' | 'VERBOSE' | 'DEBUG3';
}): Promise<World> {
  const tmp = await makeTempDir('opsbook-e2e-');
  const hosts: Sshd[] = [];
  try {
    const { dir } = tmp;
    const remoteHome = path.join(dir, 'remote-home');
    const markerDir = path.join(dir, 'markers');
    await Promise.all([mkdir(remoteHome), mkdir(markerDir), mkdir(path.join(dir, 'keys'))]);
    // Root's real ~/.bashrc (pyenv init) costs seconds per SSH command: sshd gives sessions an
    // empty HOME instead, so the commands under test start as fast as on a plain server.
    hosts.push(
      ...(await startSshdHosts(options.hostCount ?? 3, {
        extraConfig: [`SetEnv HOME=${remoteHome}`, ...(options.sshdConfig ?? [])],
        ...(options.sshdLogLevel ? { logLevel: options.sshdLogLevel } : {}),
      })),
    );
    const ids: PersonName[] = ['alice', 'bob', 'dave', 'erin', 'grace', 'mallory'];
    // bob signs with ECDSA so that both key families go through every path.
    const made = await Promise.all(
      ids.map((id) => makePerson(path.join(dir, 'keys'), id, id === 'bob' ? 'ecdsa' : 'ed25519')),
    );
    const people = Object.fromEntries(ids.map((id, i) => [id, made[i]!])) as World['people'];
    for (const id of ids) peopleById.set(id, people[id]);
    const hostNames = hosts.map((_, i) => `h${i + 1}`);
    const knownHostsFile = path.join(dir, 'known_hosts');
    const env: NodeJS.ProcessEnv = {
      OPSBOOK_USER: ENGINEER,
      HOME: path.join(dir, 'home'),
      SSH_AUTH_SOCK: '',
      OPSBOOK_KEY_PASSPHRASE: '',
    };
    // Grace, the engineer every command runs as, keeps her key where ssh looks for it: runs sign
    // their run claim with it by default.
    await mkdir(path.join(dir, 'home/.ssh'), { recursive: true, mode: 0o700 });
    await cp(people.grace.keyFile, path.join(dir, 'home/.ssh/id_ed25519'));
    const site = siteOf(dir, env);
    const world: World = {
      ...site,
      hosts,
      hostNames,
      people,
      knownHostsFile,
      markerDir,
      async writeInventory(inv = {}, file = site.inventoryFile) {
        await writeFile(file, inventoryYaml(hosts, hostNames, inv));
      },
      async writeKnownHosts(lines = hosts.map((h) => h.knownHostsLine)) {
        await writeFile(knownHostsFile, lines.map((l) => `${l}\n`).join(''));
      },
      async createSite(name) {
        const siteDir = path.join(dir, 'sites', name);
        await mkdir(siteDir, { recursive: true });
        for (const f of ['opsbook.yaml', 'approvers.yaml', 'inventory.yaml'])
          await cp(path.join(dir, f), path.join(siteDir, f));
        // The state dir and the pin too: the same pinned trust store, tickets, ledger and journals.
        for (const d of ['runbooks', 'state', 'trust-pin'])
          await cp(path.join(dir, d), path.join(siteDir, d), { recursive: true });
        return siteOf(siteDir, env);
      },
      async remove() {
        await Promise.all(hosts.map((h) => h.dispose()));
        await tmp.remove();
      },
    };
    await writeFile(path.join(dir, 'opsbook.yaml'), CONFIG(knownHostsFile));
    await writeFile(site.trustStoreFile, approversYaml(people));
    await world.writeInventory();
    await world.writeKnownHosts();
    for (const [name, fixture] of Object.entries(options.runbooks))
      await writeRunbook(site.runbooksDir, name, fixture);
    await expectOk(site.opsbook(['trust', 'init']), 'trust init');
    return world;
  } catch (e) {
    // A half-built world must not leave daemons or keys behind.
    await Promise.all(hosts.map((h) => h.dispose()));
    await tmp.remove();
    throw e;
  }
}

/** The site's tracker (the embedded local one), acting as `user`. */
export async function trackerOf(site: Site, user = 'alice') {
  const config = await loadConfig({ file: path.join(site.dir, 'opsbook.yaml') });
  return openTracker(config, { ...site.env, OPSBOOK_USER: user }).tracker;
}

/**
 * A new ticket in the site's local tracker, by default moved to Approved as a senior would after
 * signing: `opsbook run` only runs an approval whose ticket is Approved or In Progress.
 */
export async function createTicket(site: Site, approved = true): Promise<string> {
  const tracker = await trackerOf(site);
  const { key } = await tracker.create({ summary: 'end-to-end test run' });
  if (approved) {
    await tracker.transition(key, tracker.statuses.awaitingApproval);
    await tracker.transition(key, tracker.statuses.approved);
  }
  return key;
}

/**
 * Points a site at the Jira fake (Cloud, project OPS) instead of the embedded tracker: its
 * opsbook.yaml, or `file`; `jira`: more lines under tracker.jira, indented four spaces.
 */
export async function useJiraTracker(
  world: World,
  site: Site,
  options: { file?: string; jira?: string } = {},
): Promise<void> {
  await writeFile(
    path.join(site.dir, options.file ?? 'opsbook.yaml'),
    `apiVersion: opsbook/v1
kind: Config
runbooks: runbooks
stateDir: state
inventory: inventory.yaml
trustStore: approvers.yaml
knownHosts: ${JSON.stringify(world.knownHostsFile)}
tracker:
  kind: jira
  jira:
    project: OPS
    flavour: cloud
${options.jira ?? ''}`,
  );
}

/**
 * A copy of the world's site whose state dir is a tmpfs of `sizeKb` (a real filesystem that can
 * fill up or be made read-only), mounted as `name`. Mounting needs root, as the test machines run; a test that
 * cannot mount fails rather than skips.
 */
export async function siteOnTmpfs(world: World, name: string, sizeKb: number) {
  await mkdir(world.stateDir, { recursive: true }); // createSite copies it
  const site = await world.createSite(name);
  const seed = `${site.stateDir}.seed`;
  await cp(site.stateDir, seed, { recursive: true });
  await execFileAsync('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${sizeKb}k,mode=0700`,
    name,
    site.stateDir,
  ]);
  await cp(seed, site.stateDir, { recursive: true });
  return {
    site,
    remount: (options: string) =>
      execFileAsync('mount', ['-o', `remount,${options}`, site.stateDir]),
    unmount: () => execFileAsync('umount', ['-l', site.stateDir]),
  };
}

/** Fails loudly (with the CLI's own words) when a setup command does not succeed. */
export async function expectOk(result: Promise<CliResult>, what: string): Promise<CliResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}
