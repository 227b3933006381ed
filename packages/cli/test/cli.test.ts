import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestRunbook } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidRunbooks, writeCase } from '../../schema/test/invalid-runbooks.js';
import { binPath, repoRoot, runCli, runShell, stackTrace } from './run-cli.js';

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(() => tmp.remove());

describe('opsbook (no command)', () => {
  it('prints its version from package.json', async () => {
    const pkg = JSON.parse(
      await readFile(path.join(repoRoot, 'packages/cli/package.json'), 'utf8'),
    ) as { version: string };
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('lists every command with --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['validate', 'list', 'show', 'digest'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it("names every exit code of the README's table in its exit code line", async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const table = [...readme.matchAll(/^\| (\d+) +\|/gm)].map((m) => m[1]!);
    expect(table).toContain('70');
    const r = await runCli(['--help']);
    const line = r.stdout.split('\n').find((l) => l.startsWith('Exit codes:')) ?? '';
    for (const code of table) expect(line).toMatch(new RegExp(`[:,] ${code} `));
  });

  it('prints the help and exits 2 when no command is given', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Commands:');
  });

  it('names an unknown command and suggests the closest one', async () => {
    const r = await runCli(['valdate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: unknown command 'valdate': did you mean 'opsbook validate'?; run opsbook --help for the list\n",
    );
  });

  it('answers a command group without its command in JSON when --json asks for it', async () => {
    const r = await runCli(['runs', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'USAGE',
        kind: 'invalid',
        message:
          "'opsbook runs' needs one of its commands (runs list, runs show): run opsbook runs --help",
      },
    });
    const text = await runCli(['runs']);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('runs list');
  });

  it('names a --config file outside the working folder by the path given, not ../..', async () => {
    // The options every command takes may come before its name too.
    for (const args of [
      ['list', '--config', '/nonexistent/opsbook.yaml'],
      ['--config', '/nonexistent/opsbook.yaml', 'list'],
      ['--config=/nonexistent/opsbook.yaml', 'list'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(
        '/nonexistent/opsbook.yaml: cannot read the config file (ENOENT): check the --config path\n',
      );
    }
  });

  it('says that a command is missing when only the options every command takes are given', async () => {
    const r = await runCli(['--config', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: no command after --config x.yaml: name one (opsbook --config x.yaml list), or run opsbook --help for the list\n',
    );
  });

  it.each([
    [
      ['-i', 'inventory/hosts.yaml', 'inventory'],
      '-i inventory/hosts.yaml',
      'inventory -i inventory/hosts.yaml',
    ],
    [['-q', 'list'], '-q', 'list -q'],
    [['--key', 'id', 'ticket', 'run', 'OPS-1'], '--key id', 'ticket run OPS-1 --key id'],
  ])(
    "says that a command's own option goes after the command's name: %j",
    async (args, options, fixed) => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `error: ${options} comes before the command: only --config, --json and --debug may; write opsbook ${fixed}\n`,
      );
    },
  );

  it('suggests the command of a misspelt group with its subcommand', async () => {
    const r = await runCli(['tickt', 'open', '--summary', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: unknown command 'tickt': did you mean 'opsbook ticket open'?; run opsbook --help for the list\n",
    );
  });

  it.each([
    ['plan', 'disk-cleanup', '--ticket', 'OPS-1'],
    ['approve', 'missing.approval.json'],
    ['ticket', 'propose', 'OPS-1', '--runbook', 'disk-cleanup', '--senior', 'sam'],
  ])('refuses a --max-runs an approval cannot carry before anything else: %s', async (...args) => {
    for (const bad of ['0', '100001', '1e3', '2.5']) {
      const r = await runCli([...args, '--max-runs', bad]);
      expect(r.code, `${args.join(' ')} ${bad}`).toBe(2);
      expect(r.stderr).toBe(
        `error: --max-runs must be a whole number from 1 to 100,000, not '${bad}'\n`,
      );
    }
  });

  it("gives a malformed approval file exit 2 where it is a command's input, exit 3 where a run would start under it (README's exit table)", async () => {
    const bad = path.join(tmp.dir, 'malformed.approval.json');
    await writeFile(bad, '{"payloadType": 1\n');
    const key = path.join(tmp.dir, 'approve_ed25519');
    await runShell(`ssh-keygen -q -t ed25519 -N '' -f ${key}`);
    for (const args of [
      ['approve', bad, '--key', key],
      ['plan', '--show', bad],
    ]) {
      const r = await runCli(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${bad}:2:1: invalid JSON`);
    }
    for (const args of [
      ['verify', bad],
      ['run', bad, '--key', key],
    ]) {
      const r = await runCli(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(
        /^refused \(ENVELOPE_INVALID\): .*invalid JSON.*use the approval file written by opsbook plan\/approve, unedited/,
      );
      expect(r.stderr).not.toMatch(stackTrace);
    }
  });

  it('refuses an unknown option with a suggestion', async () => {
    const r = await runCli(['validate', '--jsn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: unknown option --jsn for opsbook validate: did you mean --json?; see opsbook validate --help\n',
    );
  });

  it('explains an option value that begins with a dash instead of calling it ambiguous', async () => {
    const r = await runCli(['runs', 'list', '--limit', '-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: option --limit got a value that begins with '-': write --limit=VALUE if that is the value you mean, or give --limit a value; see opsbook runs list --help\n",
    );
    const eq = await runCli(['runs', 'list', '--limit=-1']);
    expect(eq.code).toBe(2);
    expect(eq.stderr).toContain('--limit "-1" is not a positive whole number');
  });

  it('has --help on every command', async () => {
    for (const c of ['validate', 'list', 'show', 'digest']) {
      const r = await runCli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^opsbook ${c}`));
      expect(r.stdout, c).toContain('--json');
    }
  });
});

describe('opsbook validate', () => {
  it('accepts every runbook of the repository', async () => {
    const r = await runCli(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ \d+ runbooks valid\n$/);
  });

  it("loads none of Node's promise file system nor its readline modules (validate reads synchronously)", async () => {
    // A preloaded probe prints the Node modules the process loaded by its exit.
    const probe = path.join(tmp.dir, 'module-probe.cjs');
    await writeFile(
      probe,
      "process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify(process.moduleLoadList) + '\\n'));\n",
    );
    const r = await runCli(['validate'], {
      env: { ...process.env, NODE_OPTIONS: `--require ${probe}` },
    });
    expect(r.code, r.stderr).toBe(0);
    const line = /^PROBE (.*)$/m.exec(r.stderr);
    expect(line, r.stderr).not.toBeNull();
    const loaded = JSON.parse(line![1]!) as string[];
    expect(loaded).toContain('NativeModule fs');
    expect(loaded.filter((m) => /fs\/promises|readline/.test(m))).toEqual([]);
  });

  it('names a runbook folder outside the working folder by its absolute path, not ../..', async () => {
    const outside = path.join(tmp.dir, 'outside-runbook');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'runbook.yaml'), 'apiVersion: opsbook/v1\n');
    for (const command of ['validate', 'show', 'digest']) {
      const r = await runCli([command, outside]);
      expect(r.code, command).toBe(2);
      expect(r.stdout + r.stderr, command).not.toContain('../');
      expect(r.stdout + r.stderr, command).toContain(
        `${path.join(outside, 'package.json')}: file is missing`,
      );
    }
  });

  it.each(invalidRunbooks.map((c) => [c.name, c] as const))(
    'exits 2 with the exact problems and no stack trace for %s',
    async (_name, c) => {
      const dir = await writeCase(tmp.dir, c);
      const r = await runCli(['validate', '.'], { cwd: dir });
      expect(r.code).toBe(2);
      const lines = r.stdout.trimEnd().split('\n');
      const expected = c.expectedByCli ?? c.expected;
      expect(lines.slice(0, -1)).toEqual(expected);
      expect(lines.at(-1)).toBe(
        `✗ ${expected.length} problem${expected.length === 1 ? '' : 's'} in 1 of 1 runbook`,
      );
      expect(r.stdout + r.stderr).not.toMatch(stackTrace);
    },
  );

  it('lists every problem of several runbooks in one --json document', async () => {
    const dirs = await Promise.all(
      invalidRunbooks.slice(0, 3).map((c) => writeCase(path.join(tmp.dir, 'json'), c)),
    );
    const r = await runCli(['validate', '--json', ...dirs]);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      runbooks: Array<{ ok: boolean; problems: unknown[] }>;
    };
    expect(doc.ok).toBe(false);
    expect(doc.runbooks).toHaveLength(3);
    expect(doc.runbooks.map((x) => x.problems.length)).toEqual(
      invalidRunbooks.slice(0, 3).map((c) => (c.expectedByCli ?? c.expected).length),
    );
  });

  /**
   * 600 runbooks (symlinked copies): their --json is more than a pipe holds (64 KiB). Composites
   * left out: each copy keeps its package name and version, so a composed runbook would be in
   * many folders, which validate rightly refuses (compose-ambiguous).
   */
  async function largeCatalog(label: string): Promise<string> {
    const dir = path.join(tmp.dir, label, 'runbooks');
    await mkdir(dir, { recursive: true });
    const shipped = path.join(repoRoot, 'runbooks');
    const folders = (await readdir(shipped, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    const composes = async (name: string) =>
      (await readFile(path.join(shipped, name, 'runbook.yaml'), 'utf8')).includes('uses: runbook:');
    const names: string[] = [];
    for (const name of folders) if (!(await composes(name))) names.push(name);
    for (let i = 0; i < 600; i++) {
      const name = names[i % names.length]!;
      await symlink(path.join(shipped, name), path.join(dir, `${name}-${i}`));
    }
    return dir;
  }

  it('names a few of a large catalog for an unknown runbook, not all 600', async () => {
    const dir = await largeCatalog('unknown');
    const r = await runCli(['show', 'no-such-thing-at-all'], { cwd: path.dirname(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: no runbook 'no-such-thing-at-all' in runbooks: known runbooks: ([a-z0-9-]+, ){11}[a-z0-9-]+ and 588 more \(opsbook list shows them all\)\n$/,
    );
  });

  it('writes the whole of a large --json document to a reader that starts late', async () => {
    // The last part is still queued in the process when validate is done, and exiting at once
    // must not drop it.
    const dir = await largeCatalog('large');
    const r = await runShell(
      `"${process.execPath}" "${binPath}" validate --json | { sleep 1; cat; }`,
      {
        cwd: path.dirname(dir),
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(64 * 1024);
    const doc = JSON.parse(r.stdout) as { ok: boolean; runbooks: unknown[] };
    expect(doc).toMatchObject({ ok: true });
    expect(doc.runbooks).toHaveLength(600);
  });

  it('writes the whole of a large --json document through a non-blocking pipe to a late reader', async () => {
    // validate writes to file descriptor 1 itself; a descriptor its parent made non-blocking
    // (perl here, a Node parent that shares its stdout in practice) takes 64 KiB, then refuses
    // the rest (EAGAIN), which must still arrive, in order. The reader takes one byte, so the
    // writing has begun, then waits.
    const dir = await largeCatalog('non-blocking');
    const nonBlocking = `perl -MFcntl -e 'fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK) or die "fcntl: $!"'`;
    const r = await runShell(
      `{ ${nonBlocking} && "${process.execPath}" "${binPath}" validate --json; echo "opsbook exit $?" >&2; } | { dd bs=1 count=1 2>/dev/null; sleep 1; cat; }`,
      { cwd: path.dirname(dir) },
    );
    expect(r.stderr).toBe('opsbook exit 0\n');
    expect(r.stdout.length).toBeGreaterThan(64 * 1024);
    const doc = JSON.parse(r.stdout) as { ok: boolean; runbooks: unknown[] };
    expect(doc).toMatchObject({ ok: true });
    expect(doc.runbooks).toHaveLength(600);
  });

  it('stops quietly, with its own exit code, when the reader goes away (| head)', async () => {
    const dir = await largeCatalog('head');
    const r = await runShell(
      `{ "${process.execPath}" "${binPath}" validate --json; echo "opsbook exit $?" >&2; } | head -c 100`,
      { cwd: path.dirname(dir) },
    );
    expect(r.stdout).toHaveLength(100);
    expect(r.stderr).toBe('opsbook exit 0\n'); // no EPIPE stack trace
  });

  it('names a runbook that does not exist, with a suggestion', async () => {
    const r = await runCli(['validate', 'disk-claenup']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: no runbook 'disk-claenup' in runbooks: did you mean 'disk-cleanup'?\n",
    );
  });
});

describe('a runbooks folder opsbook.yaml names that is not there', () => {
  /** A repository whose opsbook.yaml says `runbooks: <value>` on its third line. */
  async function repository(name: string, runbooks: string): Promise<string> {
    const root = path.join(tmp.dir, name);
    await mkdir(path.join(root, 'runbooks'), { recursive: true });
    await writeFile(
      path.join(root, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nrunbooks: ${runbooks}\n`,
    );
    return root;
  }

  it.each(
    [
      ['validate'],
      ['validate', '--json'],
      ['list'],
      ['list', '--json'],
      ['lint'],
      ['show', 'disk-cleanup'],
    ].map((args) => [args.join(' '), args] as const),
  )(
    'fails opsbook %s (exit 2) at the runbooks: line of opsbook.yaml for a misspelt folder',
    async (name, args) => {
      const cwd = await repository(`typo-${name.replace(/\W+/g, '-')}`, 'runbok');
      const r = await runCli(args, { cwd });
      const message = `the runbooks folder 'runbok' does not exist (${path.join(cwd, 'runbok')}): correct the path, or create the folder`;
      expect(r.stderr).toBe(`opsbook.yaml:3:11: ${message}\n`);
      if (args.includes('--json'))
        expect(JSON.parse(r.stdout).error.problems).toEqual([
          { file: 'opsbook.yaml', line: 3, col: 11, rule: 'missing-file', message },
        ]);
      else expect(r.stdout).toBe('');
      expect(r.code).toBe(2);
    },
  );

  it('fails opsbook validate (exit 2) when runbooks: names a file', async () => {
    const cwd = await repository('file', 'opsbook.yaml');
    const r = await runCli(['validate'], { cwd });
    expect(r.stderr).toBe(
      `opsbook.yaml:3:11: the runbooks folder 'opsbook.yaml' is a file, not a folder (${path.join(cwd, 'opsbook.yaml')}): name the folder that holds the runbooks\n`,
    );
    expect(r.code).toBe(2);
  });

  it('passes an empty runbooks folder with a note (a new repository has no runbook yet)', async () => {
    const cwd = await repository('empty', 'runbooks');
    const r = await runCli(['validate'], { cwd });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: 'no runbooks found in runbooks\n' });
  });
});

describe('opsbook list, show, digest', () => {
  it('lists the runbooks as a table and as JSON', async () => {
    const table = await runCli(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+CATEGORY\s+GRADE\s+TITLE$/);
    expect(table.stdout).toMatch(
      /^disk-cleanup\s+\d+\.\d+\.\d+\s+incident\s+P3\s+Free disk space/m,
    );
    const json = await runCli(['list', '--json']);
    const doc = JSON.parse(json.stdout) as { runbooks: Array<{ name: string; category: string }> };
    const folders = (await readdir(path.join(repoRoot, 'runbooks'))).sort();
    expect(folders.length).toBeGreaterThanOrEqual(4);
    expect(doc.runbooks.map((r) => r.name)).toEqual(folders);
  });

  it('prints the same digest as the library computes', async () => {
    const dir = path.join(repoRoot, 'runbooks', 'disk-cleanup');
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    const expected = await digestRunbook(dir, { packageName: pkg.name, version: pkg.version });
    const r = await runCli(['digest', 'disk-cleanup']);
    expect(r).toMatchObject({ code: 0, stdout: `${expected.digest}\n` });
    const json = JSON.parse(
      (await runCli(['digest', '--json', '@runbooks/disk-cleanup'])).stdout,
    ) as { digest: string };
    expect(json.digest).toBe(expected.digest);
  });

  it("shows a runbook's params, targets, steps and versions", async () => {
    const r = await runCli(['show', 'service-restart']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^service-restart \d+\.\d+\.\d+ {2}Restart a systemd service/);
    expect(r.stdout).toMatch(/^ {2}unit\s+string\s+—\s+required, pattern/m);
    expect(r.stdout).toContain('run: systemctl restart -- {{ params.unit }}');
    expect(r.stdout).toMatch(/^Versions\n {2}\d+\.\d+\.\d+/m);
  });

  it('prints no colour codes when NO_COLOR is set, even if colour is forced', async () => {
    const r = await runCli(['list'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(r.stdout).not.toContain('\u001b[');
    const coloured = await runCli(['list'], { env: { FORCE_COLOR: '1', NO_COLOR: '' } });
    expect(coloured.stdout).toContain('\u001b[1m');
  });
});
