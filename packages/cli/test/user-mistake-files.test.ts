import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

/*
 * Files a user names or damages by mistake: a private key given where the public one belongs, a
 * folder where opsbook.yaml names a file, a ticket or outbox entry cut short or hand-edited. Each
 * is the user's to fix, so each exits 2 naming the file and what to do: never 70, never a stack.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let dir: string;
let pinDir: string;
let approvers: string;

const config = (extra = '') =>
  `apiVersion: opsbook/v1\nkind: Config\nrunbooks: runbooks\nstateDir: state\ntracker: {kind: local}\n${extra}`;

function opsbook(args: string[], cwd = dir): Promise<CliResult> {
  return runCli(args, {
    cwd,
    env: { HOME: dir, OPSBOOK_USER: 'erin', OPSBOOK_TRUST_DIR: pinDir, SSH_AUTH_SOCK: '' },
  });
}

function expectInvalid(r: CliResult): void {
  expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(2);
}

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-mistake-');
  dir = path.join(tmp.dir, 'checkout');
  pinDir = path.join(tmp.dir, 'pin');
  await mkdir(path.join(dir, 'runbooks'), { recursive: true });
  const sam = await makeSshKeyPair(dir, 'sam');
  const val = await makeSshKeyPair(dir, 'val');
  await makeSshKeyPair(dir, 'alice');
  approvers = approversYaml([
    { id: 'sam', name: 'Sam', roles: ['senior'], keys: [sam.publicLine] },
    { id: 'val', name: 'Val', roles: ['senior'], keys: [val.publicLine] },
  ]);
  await writeFile(path.join(dir, 'approvers.yaml'), approvers);
  await writeFile(path.join(dir, 'opsbook.yaml'), config());
  await runCli(['-h'], {}); // the binary is built
});
afterAll(async () => {
  await tmp?.remove();
});

describe('trust add-approver with a file that is not a public key', () => {
  it('refuses a private key, naming the file and its .pub, and leaves approvers.yaml as it was', async () => {
    const r = await opsbook([
      'trust',
      'add-approver',
      '--id',
      'bob',
      '--name',
      'Bob',
      '--role',
      'senior',
      '--key-file',
      'alice',
    ]);
    expectInvalid(r);
    expect(r.stderr).toMatch(/alice/);
    expect(r.stderr).toMatch(/private key/);
    expect(r.stderr).toMatch(/alice\.pub/);
    expect(await readFile(path.join(dir, 'approvers.yaml'), 'utf8')).toBe(approvers);
  });

  it('refuses a file of another kind, naming it and saying what a public key line is', async () => {
    await writeFile(path.join(dir, 'notes.txt'), 'call bob on monday\n');
    const r = await opsbook([
      'trust',
      'add-approver',
      '--id',
      'bob',
      '--name',
      'Bob',
      '--role',
      'senior',
      '--key-file',
      'notes.txt',
    ]);
    expectInvalid(r);
    expect(r.stderr).toMatch(/notes\.txt/);
    expect(r.stderr).toMatch(/OpenSSH public key/);
    expect(await readFile(path.join(dir, 'approvers.yaml'), 'utf8')).toBe(approvers);
  });

  it('refuses a folder given as the key file, naming it', async () => {
    const r = await opsbook([
      'trust',
      'add-approver',
      '--id',
      'bob',
      '--name',
      'Bob',
      '--role',
      'senior',
      '--key-file',
      'runbooks',
    ]);
    expectInvalid(r);
    expect(r.stderr).toMatch(/runbooks/);
  });
});

describe('a trustStore in opsbook.yaml that names a folder', () => {
  let folderRepo: string;
  beforeAll(async () => {
    // Pin the real store first, so that the commands get as far as reading the configured one.
    const pinned = await opsbook(['trust', 'init']);
    expect(pinned.stderr).toBe('');
    expect(pinned.code).toBe(0);
    folderRepo = path.join(tmp.dir, 'folder-store');
    await mkdir(path.join(folderRepo, 'runbooks'), { recursive: true });
    await mkdir(path.join(folderRepo, 'approvers.d'));
    await writeFile(path.join(folderRepo, 'opsbook.yaml'), config('trustStore: approvers.d\n'));
  });

  // verify and run read the store through the same loadTrustedStore, once the approval file is
  // well formed: @opsbook/approval's trust-rotation test holds that path.
  for (const args of [
    ['trust', 'init'],
    ['trust', 'show'],
    ['trust', 'revoke', 'SHA256:x', '--reason', 'lost laptop'],
    ['ticket', 'open', '--summary', 'disk full on web1', '--key', 'KEY'],
  ]) {
    it(`opsbook ${args.join(' ')} names the folder and the trustStore key`, async () => {
      const r = await opsbook(
        args.map((a) => (a === 'KEY' ? path.join(dir, 'sam') : a)),
        folderRepo,
      );
      expectInvalid(r);
      expect(r.stdout + r.stderr).toMatch(/approvers\.d: cannot read it: it is a folder/);
      expect(r.stdout + r.stderr).toMatch(/trustStore in opsbook\.yaml/);
    });
  }
});

describe('a state folder setting that names a file', () => {
  let repo: string;
  beforeAll(async () => {
    repo = path.join(tmp.dir, 'state-file');
    await mkdir(path.join(repo, 'runbooks'), { recursive: true });
    // stateDir on line 4, its value at column 11.
    await writeFile(
      path.join(repo, 'opsbook.yaml'),
      config().replace('stateDir: state', 'stateDir: state.txt'),
    );
    await writeFile(path.join(repo, 'state.txt'), 'notes, not a folder\n');
    await writeFile(path.join(repo, 'approvers.yaml'), approvers);
  });

  for (const args of [
    ['runs', 'list'],
    ['ticket', 'open', '--summary', 'disk full on web1', '--key', 'KEY'],
  ]) {
    it(`opsbook ${args.join(' ')} names the stateDir line and says to point it at a folder`, async () => {
      const r = await opsbook(
        args.map((a) => (a === 'KEY' ? path.join(dir, 'sam') : a)),
        repo,
      );
      expectInvalid(r);
      expect(r.stderr.trim()).toBe(
        'opsbook.yaml:4:11: stateDir, the state folder (journals, ledger, local tickets), is state.txt, which is a file: point stateDir at a folder (opsbook makes it if it is missing), or move that file away',
      );
    });
  }

  it('names the default state folder when opsbook.yaml sets none', async () => {
    const bare = path.join(tmp.dir, 'state-default-file');
    await mkdir(path.join(bare, 'runbooks'), { recursive: true });
    await writeFile(path.join(bare, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
    await writeFile(path.join(bare, '.opsbook'), '');
    const r = await opsbook(['runs', 'list'], bare);
    expectInvalid(r);
    expect(r.stderr).toMatch(
      /^opsbook\.yaml: the state folder is \.opsbook \(the default: opsbook\.yaml sets no stateDir\), which is a file: set stateDir in opsbook\.yaml to a folder/,
    );
  });
});

describe('a damaged file of the local tracker or the outbox', () => {
  let repo: string;
  beforeAll(async () => {
    repo = path.join(tmp.dir, 'damaged-state');
    await mkdir(path.join(repo, 'runbooks'), { recursive: true });
    await mkdir(path.join(repo, 'state/tracker/tickets'), { recursive: true });
    await mkdir(path.join(repo, 'state/outbox'), { recursive: true });
    await writeFile(
      path.join(repo, 'opsbook.yaml'),
      config(`trustStore: ${path.join(dir, 'approvers.yaml')}\n`),
    );
    await writeFile(path.join(repo, 'state/tracker/tickets/OPS-1.json'), '{bad\n');
  });

  it('ticket show names the ticket file at line and column', async () => {
    const r = await opsbook(['ticket', 'show', 'OPS-1'], repo);
    expectInvalid(r);
    expect(r.stderr).toMatch(/tickets\/OPS-1\.json:1:2/);
    expect(r.stderr).toMatch(/restore|repair|fix/i);
  });

  it('outbox list and flush name the damaged entry, and flush keeps it', async () => {
    const entry = path.join(repo, 'state/outbox/0000000001-x.json');
    await writeFile(entry, '{bad\n');
    for (const args of [
      ['outbox', 'list'],
      ['outbox', 'flush'],
    ]) {
      const r = await opsbook(args, repo);
      expectInvalid(r);
      expect(r.stderr).toMatch(/outbox\/0000000001-x\.json:1:2/);
    }
    expect(await readFile(entry, 'utf8')).toBe('{bad\n');
  });

  it('ticket open names the damaged outbox entry and keeps its own writes queued behind it', async () => {
    const r = await opsbook(
      ['ticket', 'open', '--summary', 'disk full on web1', '--key', path.join(dir, 'sam')],
      repo,
    );
    expectInvalid(r);
    expect(r.stderr).toMatch(/outbox\/0000000001-x\.json:1:2/);
    expect(await readFile(path.join(repo, 'state/outbox/0000000001-x.json'), 'utf8')).toBe(
      '{bad\n',
    );
    // The new ticket's create waits behind the damaged entry: flushed once that is moved away.
    const queued = await readdir(path.join(repo, 'state/outbox'));
    expect(queued.filter((n) => /^\d{10}-.+\.json$/.test(n)).length).toBeGreaterThan(1);
  });
});

describe('an output place where nothing can be created (/proc)', () => {
  // Node 20's recursive mkdir never returns there: each of these hung until killed.
  for (const args of [
    ['catalog', '--out', '/proc/opsbook-catalog'],
    ['catalog', '--out', '/proc'],
    ['report', '--since', '1d', '-o', '/proc/opsbook-reports/health.html'],
    ['report', '--since', '1d', '-o', '/proc/health.html'],
  ]) {
    it(`opsbook ${args.join(' ')} says so and exits 1`, async () => {
      const r = await opsbook(args);
      expect(r.stdout + r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /cannot create the (file|folder) \/proc\/\S+: its filesystem takes no new (file|folder)s there \(ENOENT, as \/proc and \/sys\)\. Choose a place elsewhere\./,
      );
    }, 20_000);
  }
});
