import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, execFileAsync, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { readJournal } from './run-outcome.js';
import { filesUnder } from './secret-search.js';

/*
 * Issue #14, items 4-6, through the real binary over a real sshd: a multi-line secret (a PEM
 * key) and every line of it stay out of the live output, the journal and the ticket; a secret
 * that straddles one of the journal's output cuts leaves no fragment behind; a local step gets
 * an explicit environment, never the runner's own (JIRA_API_TOKEN, PGPASSWORD, …).
 */

function header(name: string): string {
  return `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: Test runbook ${name}
  category: change
  grade: P3
  owners: [ops-test]
`;
}

const dirParam = `    dir: {type: string, required: true, pattern: "^/", description: Marker folder}\n`;

/** Careless steps that print a multi-line key, one line of it, and a token at the output cuts. */
const secretOutputRunbook: RunbookFixture = {
  yaml: `${header('secret-output')}spec:
  params:
${dirParam}    key: {type: string, secret: true, minLength: 8, description: SSH private key}
    token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: print-key
      name: Print the whole key
      run: printf 'key follows\\n%s\\nkey done\\n' "$OPSBOOK_PARAM_KEY"
    - id: print-key-line
      name: Print one line of the key, on stderr
      run: printf '%s\\n' "$OPSBOOK_PARAM_KEY" | sed -n 2p >&2
    - id: print-key-slowly
      name: Print the key in two writes, cut in the middle of a line
      run: printf %s "$OPSBOOK_PARAM_KEY" | head -c 50; sleep 0.3; printf %s "$OPSBOOK_PARAM_KEY" | tail -c +51; echo
    - id: straddle-tail
      name: The token, then just less than the journal's 64 KiB tail
      run: printf %s "$OPSBOOK_PARAM_TOKEN"; head -c 65520 /dev/zero | tr '\\0' x; echo
    - id: straddle-capture
      name: The token across the 1 MiB capture limit
      run: head -c 1048566 /dev/zero | tr '\\0' y; printf '%s\\n' "$OPSBOOK_PARAM_TOKEN"
`,
};

/** Local steps that print their environment: `where: local` on an SSH host, and a local host. */
const localEnvRunbook: RunbookFixture = {
  yaml: `${header('local-env')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: env-local
      name: Write the environment of a local step
      where: local
      run: env > {{ params.dir }}/{{ host.name }}.local-env && env
    - id: env-remote
      name: Write the environment of the same step on the host
      run: env > {{ params.dir }}/{{ host.name }}.remote-env
`,
};

/** A step that hands Ansible Vault encrypted host vars to a command, and prints one of them. */
const vaultUseRunbook: RunbookFixture = {
  yaml: `${header('vault-use')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: use
      name: Keep the password on the host and print the URL
      run: printf %s {{ host.vars.db_password }} > {{ params.dir }}/{{ host.name }}.pw && echo connecting to {{ host.vars.db_url }} as {{ host.vars.db_user }}
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: {
      'secret-output': secretOutputRunbook,
      'local-env': localEnvRunbook,
      'vault-use': vaultUseRunbook,
    },
  });
  await world.writeInventory({
    extraHosts: { lh: { ansible_connection: 'local', color: 'blue' } },
  });
});
afterAll(async () => {
  await world?.remove();
});

const hex = (n: number) => randomBytes(n).toString('hex');
/**
 * Random base64, as in a PEM body. Not hex: the state is full of hex (sha256 chains, UUIDs), and
 * an 8-character piece of a hex secret turns up in it by chance about once in 6,000 runs.
 */
const b64 = (n: number) => randomBytes(n).toString('base64');

/** Where `piece` shows in `text`, with some text around it, for the failure message. */
function around(text: string, piece: string): string {
  const at = text.indexOf(piece);
  return JSON.stringify(text.slice(Math.max(0, at - 60), at + piece.length + 60));
}

/** Every `size`-character piece of `secret`: none may show anywhere. */
function fragmentsOf(secret: string, size: number): string[] {
  return Array.from({ length: secret.length - size + 1 }, (_, i) => secret.slice(i, i + size));
}

/** Every file of the state dir (journals, ledger, the local tracker's tickets), as text. */
async function stateText(): Promise<string> {
  const texts = await Promise.all(
    (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
  );
  return texts.join('\n');
}

/** Runs an approved plan of `runbook` without --json (so the live output is printed). */
async function planApproveRun(
  runbook: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  target?: string,
) {
  await mkdir(dir, { recursive: true });
  const file = await planApproval(world, runbook, `${path.basename(dir)}.json`, {
    params: { dir },
    env,
    ...(target ? { target } : {}),
  });
  await approveAs(world, file, world.people.alice);
  const run = await world.opsbook(['run', file], { env });
  const runId = /run (\S+) ok in/.exec(run.stderr + run.stdout)?.[1];
  return { run, runId };
}

describe('secret output is masked on the stream, not line by line', () => {
  it('never shows a multi-line key, nor any line of it, nor a token cut by the journal, anywhere', async () => {
    const lines = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      `b3BlbnNzaC1rZXktdjEAAAAA${b64(30)}`,
      b64(36),
      'QQ==',
      '-----END OPENSSH PRIVATE KEY-----',
    ];
    const key = lines.join('\n');
    const token = `tok-${randomBytes(24).toString('base64url')}`;
    const env = { OPSBOOK_PARAM_KEY: key, OPSBOOK_PARAM_TOKEN: token };
    const dir = path.join(world.markerDir, 'secret-output');
    const { run, runId } = await planApproveRun('secret-output', dir, env);
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    expect(runId).toBeDefined();
    const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
    expect(shown.code).toBe(0);

    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
    // The steps really printed: the masks stand where the secrets were.
    expect(run.stderr).toContain('h1 | key follows');
    expect(run.stderr).toContain('h1 | ***');
    // On each host: the SSH one (h1) and the local one (lh).
    for (const host of ['h1', 'lh']) {
      const ends = new Map(
        journal
          .filter((e) => e.type === 'step-end' && e.host === host)
          .map((e) => [String(e.step), e]),
      );
      expect(ends.get('print-key')?.stdout, host).toBe('key follows\n***\nkey done\n');
      expect(ends.get('print-key-line')?.stderr, host).toBe('***\n');
      expect(ends.get('print-key-slowly')?.stdout, host).toBe('***\n');
      // Masked first, then cut: the masked text fits the journal whole.
      expect(ends.get('straddle-tail')?.stdout, host).toBe(`***${'x'.repeat(65520)}\n`);
      // The token crossed the 1 MiB capture limit: the capture keeps the end, the token whole.
      expect(String(ends.get('straddle-capture')?.stdout), host).toMatch(
        /characters cut\)…\ny+\*\*\*\n$/,
      );
    }

    // The marker: no 8-character piece of the key's random lines or of the token, anywhere.
    const everything = [run.stdout, run.stderr, shown.stdout, shown.stderr, await stateText()];
    const pieces = [
      ...fragmentsOf(lines[1]!.slice(-40), 8),
      ...fragmentsOf(lines[2]!, 8),
      ...fragmentsOf(token, 8),
    ];
    for (const [i, text] of everything.entries()) {
      const leaked = pieces.filter((p) => text.includes(p));
      expect(
        leaked,
        `output ${i} shows a piece of a secret: ${leaked.map((p) => around(text, p)).join(', ')}`,
      ).toEqual([]);
      for (const line of lines.filter((l) => l.length >= 4))
        expect(text.includes(line), `output ${i} shows the key line ${line}`).toBe(false);
    }
  });
});

describe('local steps get an explicit environment', () => {
  it('does not pass the runner environment (JIRA_API_TOKEN, PGPASSWORD, …) to local steps', async () => {
    const planted = {
      JIRA_API_TOKEN: `jira-${hex(12)}`,
      OPSBOOK_KEY_PASSPHRASE: `passphrase-${hex(12)}`,
      PGPASSWORD: `pg-${hex(12)}`,
      OPSBOOK_PARAM_STRAY: `stray-${hex(12)}`,
      AWS_SECRET_ACCESS_KEY: `aws-${hex(12)}`,
    };
    const dir = path.join(world.markerDir, 'local-env');
    const { run, runId } = await planApproveRun('local-env', dir, planted, 'h1:lh');
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    const allowed = new Set([
      'PATH',
      'HOME',
      'LANG',
      'TERM',
      'TZ',
      'USER',
      'LOGNAME',
      'SHELL',
      'TMPDIR',
      // Set by the shell itself.
      'PWD',
      'OLDPWD',
      'SHLVL',
      '_',
      // The step's own variables.
      'OPSBOOK_RUN_ID',
      'OPSBOOK_TICKET',
      'OPSBOOK_HOST',
      'OPSBOOK_PARAM_DIR',
    ]);
    const namesIn = (text: string) =>
      text
        .split('\n')
        .map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined);
    for (const host of ['h1', 'lh']) {
      const env = await readFile(path.join(dir, `${host}.local-env`), 'utf8');
      expect(env).toContain(`OPSBOOK_HOST=${host}\n`);
      expect(env).toContain(`OPSBOOK_RUN_ID=${runId}\n`);
      expect(env).toMatch(/^PATH=/m);
      const unexpected = namesIn(env).filter((n) => !allowed.has(n) && !n.startsWith('LC_'));
      expect(unexpected, `${host}: variables beyond the allow-list`).toEqual([]);
    }
    // Over SSH the step gets the same variables of its own.
    const remote = await readFile(path.join(dir, 'h1.remote-env'), 'utf8');
    expect(remote).toContain('OPSBOOK_HOST=h1\n');
    // The marker: no planted value in the steps' files, the CLI output or the state dir.
    const everything = [
      run.stdout,
      run.stderr,
      await stateText(),
      ...(await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))),
    ].join('\n');
    expect(everything).toContain('OPSBOOK_HOST=lh');
    for (const [name, value] of Object.entries(planted)) {
      expect(everything.includes(value), `${name}'s value reached a step`).toBe(false);
      expect(everything.includes(`${name}=`), `${name} reached a step`).toBe(false);
    }
  });
});

describe('Ansible Vault encrypted host vars in run: commands', () => {
  /** host_vars/NAME.yml beside the inventory: db_password encrypted by the real ansible-vault. */
  async function writeVaultedHostVars(passwordFile: string, password: string) {
    const { stdout } = await execFileAsync('ansible-vault', [
      'encrypt_string',
      '--vault-password-file',
      passwordFile,
      password,
      '--name',
      'db_password',
    ]);
    const text = `${stdout.trimEnd()}\ndb_user: app\ndb_url: "postgres://{{ db_user }}:{{ db_password }}@db/app"\n`;
    const dir = path.join(world.dir, 'host_vars');
    await mkdir(dir, { recursive: true });
    for (const host of ['h1', 'lh']) await writeFile(path.join(dir, `${host}.yml`), text);
  }

  it('gives the value to the command in its environment, and shows it nowhere; another value is refused', async () => {
    const passwordFile = path.join(world.dir, 'vault.pw');
    await writeFile(passwordFile, `vault-${hex(12)}\n`);
    const secretPart = b64(24);
    // Shell text in the value: it reaches the command as data, never as code.
    const password = `pw'"$(touch /tmp/never)-${secretPart}`;
    await writeVaultedHostVars(passwordFile, password);
    const env = { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile };
    const dir = path.join(world.markerDir, 'vault-use');
    try {
      await mkdir(dir, { recursive: true });
      const file = await planApproval(world, 'vault-use', 'vault-use.json', {
        params: { dir },
        env,
        target: 'h1:lh',
      });
      const shownPlan = await world.opsbook(['plan', '--show', file], { env });
      expect(shownPlan.code, shownPlan.stderr).toBe(0);
      expect(shownPlan.stdout + shownPlan.stderr).toContain('"$OPSBOOK_VAULT_db_password"');
      expect(shownPlan.stdout + shownPlan.stderr).toMatch(
        /vaulted values, never shown: \$OPSBOOK_VAULT_db_password \(hmac-sha256:[0-9a-f]{12}…\)/,
      );
      // The senior re-renders the plan to sign it: with the vault password, as for ansible.
      const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile], {
        env,
      });
      expect(approved.code, approved.stderr).toBe(0);
      const run = await world.opsbook(['run', file], { env });
      expect(run.stderr).not.toMatch(stackTrace);
      expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
      const runId = /run (\S+) ok in/.exec(run.stderr + run.stdout)?.[1];
      expect(runId).toBeDefined();

      // The command really got the value, on the SSH host and on the local one.
      for (const host of ['h1', 'lh'])
        expect(await readFile(path.join(dir, `${host}.pw`), 'utf8'), host).toBe(password);
      const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
      const printed = journal
        .filter((e) => e.type === 'step-end' && e.step === 'use')
        .map((e) => [e.host, e.stdout]);
      expect(printed.sort()).toEqual([
        ['h1', 'connecting to *** as app\n'],
        ['lh', 'connecting to *** as app\n'],
      ]);
      const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
      expect(shown.code).toBe(0);
      // The two hosts ran at once, their events interleaved: each host's block holds its own.
      const blocks = shown.stdout.split(/\n\n(?=host )/).slice(1);
      expect(blocks.map((b) => b.split('\n')[0]).sort()).toEqual(['host h1', 'host lh']);
      for (const block of blocks) {
        expect(block.match(/steps\/use {2}ok/g), block).toHaveLength(1);
        expect(block.match(/→ ok/g), block).toHaveLength(1);
      }
      const everything = [
        shownPlan.stdout,
        shownPlan.stderr,
        approved.stdout,
        approved.stderr,
        run.stdout,
        run.stderr,
        shown.stdout,
        shown.stderr,
        await readFile(file, 'utf8'),
        await stateText(),
      ];
      for (const [i, text] of everything.entries()) {
        const leaked = fragmentsOf(secretPart, 8).filter((p) => text.includes(p));
        expect(leaked, `output ${i} shows a piece of the vaulted value`).toEqual([]);
      }

      // Another value in the vault is another plan: the signed one does not run with it.
      await writeVaultedHostVars(passwordFile, `pw-${b64(24)}`);
      await rm(path.join(dir, 'h1.pw'));
      const again = await world.opsbook(['run', file], { env });
      expect(again.stderr).not.toMatch(stackTrace);
      expect(again.code, again.stderr).toBe(3);
      expect(again.stderr).toContain('PLAN_MISMATCH');
      expect(existsSync(path.join(dir, 'h1.pw'))).toBe(false);
    } finally {
      await rm(path.join(world.dir, 'host_vars'), { recursive: true, force: true });
    }
  });
});
