import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * opsbook promote through the built binary (issue #20 item 4): what it makes passes opsbook
 * validate and opsbook lint (the real ShellCheck) at once, run as separate commands the way an
 * expert would; every refusal is exit 2 with a message that says what to do, and writes nothing.
 */

let temp: { dir: string; remove: () => Promise<void> };
let site: string;

const adhoc = `#!/bin/bash
# Rotate the application's logs and tell it to reopen them.
set -e
app=\${1:?usage: rotate.sh APP [KEEP]}
keep="\${2:-14}"
: "\${LOG_DIR:=/var/log/$app}"
if [ -n "$SLACK_TOKEN" ]; then echo "would notify"; fi
find "$LOG_DIR" -name '*.log.*' -mtime +"$keep" -delete
kill -HUP "$(cat "/run/$app.pid")"
`;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-promote-cli-');
  site = temp.dir;
  await writeFile(path.join(site, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
  await mkdir(path.join(site, 'runbooks'));
  await writeFile(path.join(site, 'pnpm-workspace.yaml'), 'packages:\n  - runbooks/*\n');
  await writeFile(path.join(site, 'rotate.sh'), adhoc);
});
afterAll(() => temp?.remove());

describe('opsbook promote', () => {
  it('makes a runbook that opsbook validate and opsbook lint pass at once', async () => {
    const r = await runCli(['promote', 'rotate.sh', '--name', 'rotate-app-logs'], { cwd: site });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '✓ promoted rotate.sh to runbooks/rotate-app-logs: it validates and lints with no error',
    );
    expect(r.stdout).toMatch(/app +string +\(required\) +\$1 \(app\)/);
    expect(r.stdout).toMatch(/keep +integer +14 +\$2 \(keep\)/);
    // Its default is computed ($app): the param has none, and the script keeps computing it.
    expect(r.stdout).toMatch(/log_dir +string +— +\$LOG_DIR/);
    expect(r.stdout).toMatch(/slack_token +string, secret +— +\$SLACK_TOKEN/);
    // Its #!/bin/bash became #!/bin/sh, and it uses nothing sh lacks.
    expect(r.stdout).not.toContain('SC3');

    const validate = await runCli(['validate'], { cwd: site });
    expect(validate.stdout).toContain('✓ 1 runbook valid');
    expect(validate.code).toBe(0);
    const lint = await runCli(['lint', '--json'], { cwd: site });
    const report = JSON.parse(lint.stdout) as { ok: boolean; counts: { error: number } };
    expect(report.counts.error).toBe(0);
    expect(report.ok).toBe(true);
    expect(lint.code).toBe(0);

    const shown = await runCli(['show', 'rotate-app-logs', '--json'], { cwd: site });
    const doc = JSON.parse(shown.stdout) as {
      version: string;
      runbook: { spec: { params: Record<string, unknown> } };
    };
    expect(doc.version).toBe('0.0.0');
    expect(Object.keys(doc.runbook.spec.params)).toEqual(['app', 'keep', 'log_dir', 'slack_token']);
    expect(
      await readFile(path.join(site, '.changeset/new-runbook-rotate-app-logs.md'), 'utf8'),
    ).toContain('"@runbooks/rotate-app-logs": minor');
  });

  it('prints one JSON document with --json, and writes into --out', async () => {
    await writeFile(path.join(site, 'df.sh'), `df -h "\${MOUNT:-/}"\n`);
    const r = await runCli(
      ['promote', 'df.sh', '--name', 'disk-free', '--out', 'elsewhere', '--json'],
      {
        cwd: site,
      },
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      dir: string;
      params: Array<{ name: string }>;
    };
    expect(doc.ok).toBe(true);
    expect(doc.dir).toBe(path.join(site, 'elsewhere', 'disk-free'));
    expect(doc.params.map((p) => p.name)).toEqual(['mount']);
    expect(await readdir(path.join(site, 'elsewhere', 'disk-free'))).toEqual([
      'package.json',
      'runbook.yaml',
      'scripts',
    ]);
    // elsewhere/ is none of this workspace's packages: a changeset for it would break
    // `changeset status` here, so there is none, and the output says what to do.
    expect(doc).toMatchObject({
      changeset: null,
      notes: expect.arrayContaining([
        expect.stringMatching(
          /^no changeset was written: elsewhere\/disk-free is not a package of the pnpm workspace at \. \(pnpm-workspace\.yaml: runbooks\/\*\): .*pnpm changeset/,
        ),
      ]),
    });
    expect(await readdir(path.join(site, '.changeset'))).not.toContain('new-runbook-disk-free.md');
  });

  it('writes the changeset of a runbook made in another repository (--out) into that repository', async () => {
    const other = path.join(site, 'ops-runbooks');
    await mkdir(path.join(other, 'runbooks'), { recursive: true });
    await writeFile(path.join(other, 'pnpm-workspace.yaml'), 'packages:\n  - runbooks/*\n');
    await writeFile(path.join(site, 'fix.sh'), 'mount -a\n');
    const r = await runCli(
      ['promote', 'fix.sh', '--name', 'fix-nfs', '--out', 'ops-runbooks/runbooks'],
      { cwd: site },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ops-runbooks/.changeset/new-runbook-fix-nfs.md');
    expect(await readdir(path.join(other, '.changeset'))).toEqual(['new-runbook-fix-nfs.md']);
    expect(await readdir(path.join(site, '.changeset'))).not.toContain('new-runbook-fix-nfs.md');
    // The commands it says to run next work as written, from where it was run: this repository's
    // runbooks/ has no fix-nfs, so they name the runbook's folder.
    const next = /then (opsbook lint \S+) and (opsbook show \S+)\.$/m.exec(r.stdout);
    expect(next?.slice(1)).toEqual([
      'opsbook lint ops-runbooks/runbooks/fix-nfs',
      'opsbook show ops-runbooks/runbooks/fix-nfs',
    ]);
    for (const command of next!.slice(1)) {
      const ran = await runCli(command.split(' ').slice(1), { cwd: site });
      expect(ran.stderr).not.toMatch(/no runbook/);
      expect(ran.code).toBe(0);
    }
  });

  it('refuses with exit 2 and a clear message, never a stack trace, and writes nothing', async () => {
    await writeFile(path.join(site, 'bin.dat'), Buffer.from([0, 1, 2, 3]));
    // Under dash (Debian's sh) `[[` is "not found": in an if, the step would do nothing and end ok.
    await writeFile(
      path.join(site, 'bashy.sh'),
      '#!/bin/bash\nif [[ -d "$1" ]]; then rm -rf "$1/cache"; fi\necho done\n',
    );
    const cases: Array<[string[], RegExp]> = [
      [
        ['promote', 'rotate.sh', '--name', 'rotate-app-logs'],
        /runbooks\/rotate-app-logs already exists/,
      ],
      [['promote', 'rotate.sh', '--name', 'Rotate'], /"Rotate" is not a valid runbook name/],
      [['promote', 'missing.sh', '--name', 'm'], /missing\.sh: there is no such script/],
      [['promote', 'runbooks', '--name', 'm'], /runbooks: is a folder/],
      [['promote', 'bin.dat', '--name', 'm'], /bin\.dat:1:1: NUL byte/],
      [['promote', 'rotate.sh'], /needs --name NAME/],
      [
        ['promote', 'bashy.sh', '--name', 'bashy'],
        /bashy\.sh:2:4: SC3010: In POSIX sh, \[\[ \]\] is undefined\. \(the runner runs it with sh: dash on Debian and Ubuntu\)/,
      ],
      [['promote', 'rotate.sh', '--name', 'm', '--grade', 'P9'], /--grade must be P1, P2, P3, P4/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: site });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(stackTrace);
    }
    expect(await readdir(path.join(site, 'runbooks'))).toEqual(['rotate-app-logs']);
  });

  it('says that lint fails on a promoted change runbook until its TODO postcheck is written', async () => {
    await writeFile(path.join(site, 'reload.sh'), 'systemctl reload nginx\n');
    const r = await runCli(
      ['promote', 'reload.sh', '--name', 'reload-nginx', '--category', 'change'],
      { cwd: site },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '✓ promoted reload.sh to runbooks/reload-nginx: it validates; opsbook lint fails on it (scaffold-todo) until you write its TODO postcheck',
    );
    expect(r.stdout).toMatch(
      /runbooks\/reload-nginx\/runbook\.yaml:\d+:\d+: error scaffold-todo: postcheck 'check-result'/,
    );
    const lint = await runCli(['lint', 'reload-nginx'], { cwd: site });
    expect(lint.code).toBe(1);
    expect(lint.stdout + lint.stderr).toMatch(/scaffold-todo/);
  });

  it('explains itself in --help', async () => {
    const r = await runCli(['promote', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('OPSBOOK_PARAM_<NAME>');
    expect(r.stdout).toContain('--name NAME');
  });
});
