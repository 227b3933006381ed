import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadRunbook, type OpsbookError, parseYamlSource, type Runbook } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PromoteOptions, promoteScript } from '../src/index.js';

/*
 * opsbook promote, issue #20 item 4: an ad-hoc script becomes a runbook that loads and lints
 * (the real ShellCheck) at once, and the lines promote adds hand each param over exactly as the
 * script read it: the promoted scripts are run here with the real sh, their params in the
 * environment as the runner gives them (OPSBOOK_PARAM_<NAME>), values a shell would misread
 * included.
 */

let temp: { dir: string; remove: () => Promise<void> };
let root: string;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-promote-');
  root = temp.dir;
  await mkdir(path.join(root, 'runbooks'));
  // A repository as opsbook's: a pnpm workspace whose runbooks/* are packages, with changesets.
  await writeFile(path.join(root, 'pnpm-workspace.yaml'), 'packages:\n  - runbooks/*\n');
  await mkdir(path.join(root, '.changeset'));
});
afterAll(() => temp?.remove());

async function script(name: string, text: string, mode = 0o644): Promise<string> {
  const file = path.join(root, 'adhoc', name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode });
  return file;
}

function promote(file: string, name: string, extra: Partial<PromoteOptions> = {}) {
  return promoteScript({
    script: file,
    name,
    runbooksDir: path.join(root, 'runbooks'),
    load: (dir) => loadRunbook(dir),
    cwd: root,
    ...extra,
  });
}

async function runbookOf(name: string): Promise<Runbook> {
  const file = path.join(root, 'runbooks', name, 'runbook.yaml');
  return parseYamlSource(file, await readFile(file)).value as Runbook;
}

/** Runs the promoted script as the runner does (`sh FILE`), params in the environment. */
async function runPromoted(name: string, params: Record<string, string>): Promise<string> {
  const rb = await runbookOf(name);
  const file = path.join(root, 'runbooks', name, rb.spec.steps[0]!.script!);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(params)) env[`OPSBOOK_PARAM_${k.toUpperCase()}`] = v;
  const { stdout } = await promisify(execFile)('sh', [file], { env, cwd: root });
  return stdout;
}

const nasty = `it's a "value" with $(touch pwned) \`id\` * and ; rm -rf x`;

describe('promoteScript', () => {
  it('makes a runbook that loads and lints, with a param for each argument and variable the script reads', async () => {
    const file = await script(
      'pg-dump.sh',
      `#!/bin/sh
# Dump one database to the backup folder.
set -eu
db=$1
port="\${2:-5432}"
: "\${BACKUP_DIR:=/var/backups}"
printf 'db=%s\\n' "$db"
printf 'port=%s\\n' "$port"
printf 'dir=%s\\n' "$BACKUP_DIR"
printf 'pass=%s\\n' "\${PGPASSWORD_FILE:-none}"
`,
      0o755,
    );
    const result = await promote(file, 'pg-dump');
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.params.map((p) => [p.name, p.type, p.default, p.required, p.secret])).toEqual([
      ['db', 'string', undefined, true, false],
      ['port', 'integer', 5432, false, false],
      ['backup_dir', 'string', '/var/backups', false, false],
      ['pgpassword_file', 'string', undefined, false, true],
    ]);
    const rb = await runbookOf('pg-dump');
    expect(rb.metadata).toMatchObject({
      name: 'pg-dump',
      title: 'Dump one database to the backup folder.',
      category: 'incident',
      grade: 'P3',
    });
    expect(rb.metadata.description).toMatch(/^TODO: when to use this runbook/);
    expect(rb.spec.params?.db).toEqual({
      type: 'string',
      required: true,
      description: expect.stringMatching(
        /^TODO: say what this is\. It is the script's argument \$1/,
      ),
    });
    expect(rb.spec.steps).toEqual([
      { id: 'run-pg-dump', name: 'Run pg-dump.sh', script: 'scripts/pg-dump.sh' },
    ]);
    expect(await readFile(path.join(root, '.changeset', 'new-runbook-pg-dump.md'), 'utf8')).toBe(
      '---\n"@runbooks/pg-dump": minor\n---\n\nFirst version of the pg-dump runbook, promoted from the ad-hoc script pg-dump.sh.\n',
    );
    // Readable by all, as any file of the repository (not the 0600 of opsbook's private state).
    const changeset = path.join(root, '.changeset', 'new-runbook-pg-dump.md');
    expect((await stat(changeset)).mode & 0o777).toBe(0o644);
    const pkg = JSON.parse(
      await readFile(path.join(root, 'runbooks/pg-dump/package.json'), 'utf8'),
    );
    expect(pkg).toMatchObject({ name: '@runbooks/pg-dump', version: '0.0.0', private: true });
    expect((await stat(path.join(root, 'runbooks/pg-dump/scripts/pg-dump.sh'))).mode & 0o777).toBe(
      0o755,
    );
    expect(result.files.map((f) => path.relative(root, f)).sort()).toEqual([
      '.changeset/new-runbook-pg-dump.md',
      'runbooks/pg-dump/package.json',
      'runbooks/pg-dump/runbook.yaml',
      'runbooks/pg-dump/scripts/pg-dump.sh',
    ]);
  });

  it("points what lint finds in the lines promote adds at the script's own line they go before, not the promoted copy's", async () => {
    // The expert's header asks ShellCheck for every optional check: they also see the lines
    // promote adds (after the header, before line 4), which the user's script does not have.
    const text = `#!/bin/sh
# Greet a user.
# shellcheck enable=all
user=$1
echo "hello \${user}"
`;
    const file = await script('greet.sh', text);
    const result = await promote(file, 'greet');
    const added = result.findings.filter((f) => /opsbook promote add/.test(f.message));
    expect(added.length).toBeGreaterThan(0);
    for (const f of added) expect(f).toMatchObject({ file, line: 4, endLine: 4 });
    const lines = text.split('\n').length - 1;
    for (const f of result.findings.filter((f) => f.file === file))
      expect(f.line).toBeLessThanOrEqual(lines);
  });

  it('hands each param to the script as one word, never as code', async () => {
    const out = await runPromoted('pg-dump', { db: nasty, port: '6432', backup_dir: '/srv/b k' });
    expect(out).toBe(`db=${nasty}\nport=6432\ndir=/srv/b k\npass=none\n`);
    await expect(stat(path.join(root, 'pwned'))).rejects.toThrow();
    // A param not given leaves the script's own default in force.
    expect(await runPromoted('pg-dump', { db: 'app', port: '5432' })).toContain(
      'dir=/var/backups\n',
    );
  });

  it('promotes a script whose argument is a secret: set -- hands it over, in no argv', async () => {
    const file = await script(
      'db-user.sh',
      `#!/bin/sh
# Create a database user.
set -eu
user=$1
password=$2
printf 'user=%s password=%s\\n' "$user" "$password"
`,
    );
    const result = await promote(file, 'db-user');
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.params.map((p) => [p.name, p.secret])).toEqual([
      ['user', false],
      ['password', true],
    ]);
    expect(await runPromoted('db-user', { user: 'app', password: nasty })).toBe(
      `user=app password=${nasty}\n`,
    );
  });

  it("promotes a script whose secret has a default of its own: none in runbook.yaml, the script's when not given", async () => {
    const file = await script(
      'db-login.sh',
      `#!/bin/sh
# Log in to the database.
user=$1
password=\${2:-changeme}
printf 'user=%s password=%s\\n' "$user" "$password"
`,
    );
    const result = await promote(file, 'db-login');
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.params.map((p) => [p.name, p.secret, p.default, p.required])).toEqual([
      ['user', false, undefined, true],
      ['password', true, undefined, false],
    ]);
    expect((await runbookOf('db-login')).spec.params?.password).not.toHaveProperty('default');
    expect(await runPromoted('db-login', { user: 'app' })).toBe('user=app password=changeme\n');
    expect(await runPromoted('db-login', { user: 'app', password: nasty })).toBe(
      `user=app password=${nasty}\n`,
    );
    // The same for a getopts option whose variable the script sets before its loop.
    const opts = await script(
      'db-login-opts.sh',
      `#!/bin/sh
# Log in to the database.
token=changeme
while getopts t: o; do
  case $o in
    t) token=$OPTARG ;;
    *) exit 2 ;;
  esac
done
printf 'token=%s\\n' "$token"
`,
    );
    const promoted = await promote(opts, 'db-login-opts');
    expect(promoted.params.map((p) => [p.name, p.secret, p.default])).toEqual([
      ['token', true, undefined],
    ]);
    expect(await runPromoted('db-login-opts', {})).toBe('token=changeme\n');
    expect(await runPromoted('db-login-opts', { token: nasty })).toBe(`token=${nasty}\n`);
    // And for an argument read before a getopts loop and shifted away: not required (the
    // script has its own default), passed as an empty word when not given, which ${1:-…}
    // replaces with that default.
    const leading = await script(
      'db-login-leading.sh',
      `#!/bin/sh
# Log in to the database.
password=\${1:-changeme}
shift
verbose=0
while getopts v o; do
  case $o in
    v) verbose=1 ;;
    *) exit 2 ;;
  esac
done
printf 'password=%s verbose=%s\\n' "$password" "$verbose"
`,
    );
    const promotedLeading = await promote(leading, 'db-login-leading');
    expect(promotedLeading.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(promotedLeading.params.map((p) => [p.name, p.secret, p.default, p.required])).toEqual([
      ['password', true, undefined, false],
      ['verbose', false, false, false],
    ]);
    expect((await runbookOf('db-login-leading')).spec.params?.password).not.toHaveProperty(
      'default',
    );
    expect(await runPromoted('db-login-leading', { verbose: 'true' })).toBe(
      'password=changeme verbose=1\n',
    );
    expect(await runPromoted('db-login-leading', { password: nasty, verbose: 'false' })).toBe(
      `password=${nasty} verbose=0\n`,
    );
  });

  it('maps a getopts loop to options and flags, operands after --', async () => {
    const file = await script(
      'restart.sh',
      `#!/usr/bin/env bash
TIMEOUT=30
while getopts "t:fh" opt; do
  case "$opt" in
    t) TIMEOUT=$OPTARG ;;
    f) FORCE=yes ;;
    h) echo "usage: restart.sh [-f] [-t SECONDS] SERVICE..."; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
printf 'timeout=%s force=%s\\n' "$TIMEOUT" "\${FORCE:-no}"
printf 'service=%s\\n' "$1" "$@"
`,
    );
    const result = await promote(file, 'restart-services', { category: 'change' });
    expect(result.params.map((p) => [p.name, p.type, p.default])).toEqual([
      ['timeout', 'integer', 30],
      ['force', 'boolean', false],
      ['arg1', 'string', undefined],
      ['args', 'string', ''],
    ]);
    expect(result.notes.join('\n')).toMatch(/#! named bash/);
    expect(result.notes.join('\n')).toMatch(/option -h is not a param/);
    const rb = await runbookOf('restart-services');
    // A change runbook: a timeout on its step and a postcheck that fails until it is written.
    expect(rb.spec.steps[0]?.timeout).toBe('15m');
    expect(rb.spec.postchecks?.[0]?.run).toMatch(/exit 1$/);
    // Written anyway, but lint fails on it (an error) until the expert writes that postcheck.
    expect(
      result.findings.filter((f) => f.severity === 'error').map((f) => [f.rule, f.file]),
    ).toEqual([['scaffold-todo', 'runbooks/restart-services/runbook.yaml']]);
    const out = await runPromoted('restart-services', {
      timeout: '45',
      force: 'true',
      arg1: '-x nginx',
      args: 'php-fpm   redis',
    });
    expect(out).toBe(
      'timeout=45 force=yes\nservice=-x nginx\nservice=-x nginx\nservice=php-fpm\nservice=redis\n',
    );
    expect(
      await runPromoted('restart-services', { timeout: '30', force: 'false', arg1: 'a' }),
    ).toBe('timeout=30 force=no\nservice=a\nservice=a\n');
  });

  it('passes arguments a script reads before its getopts loop first, then its options', async () => {
    const file = await script(
      'leading.sh',
      `#!/bin/sh
set -eu
DB=$1; PORT=\${2:-5432}
shift 2
while getopts "v" o; do
  case $o in v) VERBOSE=1 ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
printf 'db=%s port=%s verbose=%s\\n' "$DB" "$PORT" "\${VERBOSE:-0}"
printf 'table=%s\\n' "\${1:-all}"
`,
    );
    const result = await promote(file, 'leading-args');
    expect(result.params.map((p) => [p.name, p.type, p.default, p.required])).toEqual([
      ['db', 'string', undefined, true],
      ['port', 'integer', 5432, false],
      ['verbose', 'boolean', false, false],
      ['arg1', 'string', 'all', false],
    ]);
    // The flag's description is plain English.
    expect(result.params[2]?.description).toBe(
      "TODO: say what this is. It is the script's flag -v, which sets VERBOSE: true passes -v to the script, false leaves it out.",
    );
    expect(await runPromoted('leading-args', { db: nasty, port: '6432', verbose: 'true' })).toBe(
      `db=${nasty} port=6432 verbose=1\ntable=all\n`,
    );
    expect(
      await runPromoted('leading-args', { db: 'app', port: '5432', verbose: 'false', arg1: '-v' }),
    ).toBe('db=app port=5432 verbose=0\ntable=-v\n');
  });

  it('refuses a script whose getopts loop parses the arguments it read before the loop', async () => {
    // Run by hand, getopts starts at $1 (the database): -v is never an option, or it is the
    // database. Promote cannot tell which the author meant, so it says where and what to do.
    const file = await script(
      'clash.sh',
      `#!/bin/sh
set -eu
DB=$1; PORT=\${2:-5432}
while getopts "v" o; do
  case $o in v) VERBOSE=1 ;; *) exit 2 ;; esac
done
echo "$DB $PORT \${VERBOSE:-0}"
`,
    );
    const error = await promote(file, 'clash').then(
      () => undefined,
      (e: OpsbookError) => e,
    );
    expect(error).toMatchObject({ code: 'SCRIPT_ARGUMENTS_AMBIGUOUS', kind: 'invalid' });
    expect(error?.message).toMatch(
      /clash\.sh:3:\d+: .*\$1 \(DB\).*before its getopts loop \(line 4\)/,
    );
    expect(error?.message).toMatch(/shift 2/);
    expect(error?.message).toMatch(/shift \$\(\(OPTIND - 1\)\)/);
    expect(await readdir(path.join(root, 'runbooks'))).not.toContain('clash');
    expect(await readdir(path.join(root, '.changeset'))).not.toContain('new-runbook-clash.md');
  });

  it('writes the changeset into the workspace that owns the runbooks folder, or none outside one', async () => {
    const file = await script('uptime.sh', 'uptime\n');
    // Another repository (as --out ../ops-runbooks/runbooks): its own .changeset gets it.
    const other = path.join(root, 'ops-runbooks');
    await mkdir(path.join(other, '.changeset'), { recursive: true });
    await writeFile(path.join(other, 'pnpm-workspace.yaml'), "packages: ['runbooks/*']\n");
    const there = await promote(file, 'uptime-there', {
      runbooksDir: path.join(other, 'runbooks'),
    });
    expect(there.changeset).toBe(path.join(other, '.changeset', 'new-runbook-uptime-there.md'));
    expect(await readdir(path.join(other, '.changeset'))).toEqual(['new-runbook-uptime-there.md']);
    expect(await readdir(path.join(root, '.changeset'))).not.toContain(
      'new-runbook-uptime-there.md',
    );

    // A folder of this workspace that is none of its packages: changesets would refuse it.
    const loose = await promote(file, 'uptime-loose', { runbooksDir: path.join(root, 'drafts') });
    expect(loose.changeset).toBeUndefined();
    expect(loose.notes.join('\n')).toMatch(
      /no changeset was written: .*drafts\/uptime-loose is not a package of the pnpm workspace at .* \(pnpm-workspace\.yaml: runbooks\/\*\)/,
    );
    expect(await readdir(path.join(root, '.changeset'))).not.toContain(
      'new-runbook-uptime-loose.md',
    );

    // No workspace at all above it.
    const outside = await makeTempDir('opsbook-promote-outside-');
    try {
      const none = await promote(file, 'uptime-none', { runbooksDir: outside.dir });
      expect(none.changeset).toBeUndefined();
      expect(none.files.every((f) => f.startsWith(outside.dir))).toBe(true);
      expect(none.notes.join('\n')).toMatch(
        /no changeset was written: .* is in no pnpm workspace.*pnpm changeset/,
      );
      expect(await readdir(path.join(root, '.changeset'))).not.toContain(
        'new-runbook-uptime-none.md',
      );
    } finally {
      await outside.remove();
    }
  });

  it('keeps a script that reads nothing byte for byte', async () => {
    const text = '#!/bin/sh\n# Show the load.\nuptime\n';
    const file = await script('load.sh', text);
    const result = await promote(file, 'show-load', { title: 'Show the load average' });
    expect(result.params).toEqual([]);
    expect(await readFile(path.join(root, 'runbooks/show-load/scripts/load.sh'), 'utf8')).toBe(
      text,
    );
    expect((await runbookOf('show-load')).metadata.title).toBe('Show the load average');
  });

  it('refuses, and writes nothing, for each way the input can be wrong', async () => {
    const before = await readdir(path.join(root, 'runbooks'));
    const ok = await script('ok.sh', 'echo ok\n');
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: OpsbookError) => ({ code: e.code, kind: e.kind, message: e.message }),
      );
    expect(await refusal(promote(ok, 'pg-dump'))).toMatchObject({
      code: 'RUNBOOK_EXISTS',
      kind: 'invalid',
      message: expect.stringMatching(/runbooks\/pg-dump already exists/),
    });
    await writeFile(path.join(root, '.changeset', 'new-runbook-leftover.md'), 'x');
    expect(await refusal(promote(ok, 'leftover'))).toMatchObject({ code: 'RUNBOOK_EXISTS' });
    expect(await refusal(promote(ok, 'Bad_Name'))).toMatchObject({
      code: 'RUNBOOK_NAME_INVALID',
      message: expect.stringMatching(/"Bad_Name" is not a valid runbook name/),
    });
    expect(await refusal(promote(ok, 'x', { category: 'urgent' }))).toMatchObject({
      code: 'RUNBOOK_OPTION_INVALID',
    });
    // The user's --title, named as theirs (it was "a bug of opsbook promote" at a temp folder).
    for (const [title, why] of [
      ['fix \u001b[2J it', /^--title holds control character U\+001B \(ESC\)/],
      ['a\nb', /^--title holds a line break/],
      ['A'.repeat(300), /^--title is 300 characters long/],
    ] as const)
      expect(await refusal(promote(ok, 'titled', { title }))).toMatchObject({
        code: 'RUNBOOK_OPTION_INVALID',
        message: expect.stringMatching(why),
      });
    expect(await refusal(promote(path.join(root, 'nope.sh'), 'x'))).toMatchObject({
      code: 'SCRIPT_MISSING',
      message: expect.stringMatching(/there is no such script/),
    });
    expect(await refusal(promote(path.join(root, 'adhoc'), 'x'))).toMatchObject({
      code: 'SCRIPT_NOT_FILE',
      message: expect.stringMatching(/is a folder/),
    });
    const binary = path.join(root, 'adhoc', 'tool');
    await writeFile(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
    expect(await refusal(promote(binary, 'x'))).toMatchObject({
      code: 'SCRIPT_NOT_TEXT',
      message: expect.stringMatching(/NUL byte.*not a shell script opsbook can promote/),
    });
    const python = await script('tool.py', '#!/usr/bin/env python3\nprint("hi")\n');
    expect(await refusal(promote(python, 'x'))).toMatchObject({
      code: 'SCRIPT_NOT_SHELL',
      message: expect.stringMatching(/names python3, not a shell/),
    });
    const empty = await script('empty.sh', '#!/bin/sh\n# nothing yet\n');
    expect(await refusal(promote(empty, 'x'))).toMatchObject({ code: 'SCRIPT_NOT_SHELL' });
    // ShellCheck's error is shown at the line of the script the user gave, not the promoted one.
    const broken = await script(
      'broken.sh',
      '#!/bin/sh\nexport A="$1"\nif [ -n "$A" ]; then\n  echo hi\n',
    );
    expect(await refusal(promote(broken, 'x'))).toMatchObject({
      code: 'PROMOTED_RUNBOOK_INVALID',
      message: expect.stringMatching(/broken\.sh:3:1: SC\d+: .*'fi'/),
    });
    expect(await readdir(path.join(root, 'runbooks'))).toEqual(before);
    expect(await readdir(path.join(root, '.changeset'))).not.toContain('new-runbook-x.md');
  });

  it('refuses a folder of scripts, naming the scripts in it and what to do with its helpers', async () => {
    const dir = path.join(root, 'folder-of-scripts');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'folder-of-scripts.sh'),
      '#!/bin/sh\n. ./common.sh\nsystemctl restart app\n',
    );
    await writeFile(path.join(dir, 'common.sh'), 'set -eu\n');
    await writeFile(path.join(dir, 'README'), 'how to run\n');
    const error = await promote(dir, 'folder-of-scripts').then(
      () => undefined,
      (e: OpsbookError) => e,
    );
    expect(error).toMatchObject({ code: 'SCRIPT_NOT_FILE', kind: 'invalid' });
    expect(error!.message).toMatch(
      /folder-of-scripts: is a folder: promote takes one script, the one that is run \(here common\.sh or folder-of-scripts\.sh\): give its path, e\.g\. opsbook promote .*folder-of-scripts\/folder-of-scripts\.sh --name folder-of-scripts; the runner copies only that script to the host, so first paste into it what it needs from the others \(the functions and settings it sources\)/,
    );
  });

  it('refuses a script of a folder that sources its helper beside it, at the line of the script given', async () => {
    // A folder of scripts run by hand: the runner would copy fix-nfs.sh alone to the host, where
    // lib.sh is not, and the step would fail on every host.
    const file = await script(
      'nfs/fix-nfs.sh',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, in the script
      '#!/bin/sh\n# Remount a stale NFS share\nmount_point=${1:-/mnt/data}\n. "$(dirname "$0")/lib.sh"\nlog "remounting $mount_point"\n',
    );
    await script('nfs/lib.sh', 'log() { echo "[fix-nfs] $*"; }\n');
    const before = await readdir(path.join(root, 'runbooks'));
    const error = await promote(file, 'fix-nfs').then(
      () => undefined,
      (e: OpsbookError) => e,
    );
    expect(error).toMatchObject({ code: 'PROMOTED_RUNBOOK_INVALID', kind: 'invalid' });
    expect(error!.message).toMatch(
      /fix-nfs\.sh:4:1: script-sibling-file: fix-nfs\.sh finds lib\.sh beside itself .*Paste what fix-nfs\.sh needs from lib\.sh into it/,
    );
    expect(await readdir(path.join(root, 'runbooks'))).toEqual(before);
    expect(await readdir(path.join(root, '.changeset'))).not.toContain('new-runbook-fix-nfs.md');
  });

  it("refuses a script that puts a secret argument on a program's command line, at the script's line", async () => {
    // token=$2 is secret by its name; the prologue hands it over as $2, and curl's argv shows it
    // to every user of the host (ps, /proc): promote must not call that valid.
    const before = await readdir(path.join(root, 'runbooks'));
    const file = await script(
      'restart-check.sh',
      `#!/bin/sh
# Restart a service and check it
unit=$1
token=$2
systemctl restart -- "$unit"
curl -fsS -H "Authorization: Bearer $token" http://localhost:8080/health
`,
    );
    const error = await promote(file, 'restart-check').then(
      () => undefined,
      (e: OpsbookError) => e,
    );
    expect(error).toMatchObject({
      code: 'PROMOTED_RUNBOOK_INVALID',
      message: expect.stringMatching(
        /restart-check\.sh:6:37: secret-in-command: secret param 'token' \(\$token, from \$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl/,
      ),
    });
    expect(await readdir(path.join(root, 'runbooks'))).toEqual(before);
  });

  it("refuses a script that expands an argument unquoted into a program's arguments, at the script's line", async () => {
    // LOGDIR=' /var/log/app -delete' would hand find a -delete of the engineer's choosing.
    const file = await script(
      'rotate-logs.sh',
      `#!/bin/bash
# Rotate application logs
LOGDIR=$1
DAYS=\${2:-7}
find $LOGDIR -name '*.log' -mtime +$DAYS -exec gzip -- {} +
`,
    );
    const error = await promote(file, 'rotate-logs').then(
      () => undefined,
      (e: OpsbookError) => e,
    );
    expect(error).toMatchObject({ code: 'PROMOTED_RUNBOOK_INVALID', kind: 'invalid' });
    expect(error!.message).toMatch(
      /rotate-logs\.sh:5:6: param-unquoted: param 'logdir' \(\$LOGDIR, from \$OPSBOOK_PARAM_LOGDIR\) is expanded unquoted into an argument of find: .*quote it: "\$LOGDIR"/,
    );
    // DAYS is an integer: splitting leaves it whole, nothing to say.
    expect(error!.message).not.toMatch(/param 'days'/);
  });
});
