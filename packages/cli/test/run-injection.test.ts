import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { chooseSigner, createPlan, trackerBinding } from '@opsbook/runner';
import { isOpsbookError, loadConfig } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, approvedFile, planApproval } from './approval-craft.js';
import { createWorld, exists, type World, writeRunbook } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { type RunDoc, readJournal } from './run-outcome.js';
import { echoParamRunbook, secretRunbook } from './runbook-fixtures.js';
import { filesUnder } from './secret-search.js';

/*
 * Injection and secrets end to end (issue 4): hostile param values go through `opsbook plan`,
 * a senior's signature and `opsbook run` over real sshd into `printf %s {{ params.x }} > out`,
 * and arrive byte for byte, never executed. A NUL byte is refused at plan time. A secret param
 * reaches the host's command but no file, output or journal of opsbook.
 */

const tag = randomBytes(4).toString('hex');
/** The brief's attack, aimed at a file outside the test folder too. */
const pwnedTmp = `/tmp/pwned-${tag}`;
let world: World;
let pwned: string;
let values: string[];

beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: { 'echo-param': echoParamRunbook(11), 'secret-token': secretRunbook },
  });
  pwned = path.join(world.dir, 'pwned');
  values = [
    `$(touch ${pwnedTmp})'; touch ${pwnedTmp} #`,
    `$(touch ${pwned}-1)'; touch ${pwned}-2 #`,
    `\`touch ${pwned}-3\``,
    `"; touch ${pwned}-4; echo "`,
    `line one\nline two; touch ${pwned}-5\n`,
    '--help',
    '-rf /',
    'ünïcødé ✓ 日本語 \u202e ﷽ 😀',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion, the attack
    '\\x41 \\\\ $HOME ${PATH} * ? [a] ~ ! %s %n && || ; | & > < ( ) { }',
    `' '' ''' \\' "'"`,
    ' leading and trailing spaces \t',
    '{{ params.dir }} {{ host.name }}',
  ];
});
afterAll(async () => {
  await rm(pwnedTmp, { force: true });
  await world?.remove();
});

const names = ['x', ...Array.from({ length: 11 }, (_, i) => `x${i + 1}`)];

describe('hostile param values', () => {
  it('reach the host byte for byte through plan, approve and run over sshd, and never execute', async () => {
    const dir = path.join(world.markerDir, 'injection');
    await mkdir(dir);
    const params = Object.fromEntries(names.map((n, i) => [n, values[i]!]));
    const file = await approvedFile(world, 'echo-param', 'injection.json', [world.people.alice], {
      params: { dir, ...params },
    });
    const show = await world.opsbook(['plan', '--show', file]);
    expect(show.code).toBe(0);
    const r = await world.opsbook(['run', file, '--json']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as RunDoc).hosts.map((h) => h.status)).toEqual(['ok', 'ok']);
    for (const host of world.hostNames)
      for (const [i, n] of names.entries())
        expect(await readFile(path.join(dir, `${host}.${n}`), 'utf8'), `${host} ${n}`).toBe(
          values[i],
        );
    expect(exists(pwnedTmp)).toBe(false);
    expect((await readdir(world.dir)).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });

  it('refuses a NUL byte in a host var at plan time: exit 2, a clear message, no stack trace', async () => {
    await world.writeInventory({ vars: { h1: { color: 'blue\u0000red' } } });
    try {
      await writeRunbook(world.runbooksDir, 'nul-var', {
        yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata: {name: nul-var, title: Uses a host var, category: change, grade: P3, owners: [ops-test]}
spec:
  targets: {default: all}
  steps:
    - {id: show, name: Show the color, run: 'echo {{ host.vars.color }}'}
`,
      });
      const r = await world.opsbook(['plan', 'nul-var', '--ticket', 'OPS-900', '-o', 'nul.json']);
      expect(r.stdout + r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).toMatch(/NUL/);
      expect(r.code).toBe(2);
      expect(exists(path.join(world.dir, 'nul.json'))).toBe(false);
    } finally {
      await world.writeInventory();
    }
  });

  it('refuses a NUL byte in a param value at plan time (runner API: argv cannot carry NUL)', async () => {
    const config = await loadConfig({ file: path.join(world.dir, 'opsbook.yaml') });
    const attempt = createPlan({
      config,
      runbook: 'echo-param',
      ticket: 'OPS-901',
      params: ['dir=/tmp', ...names.map((n) => `${n}=a\u0000b`)],
      proposerSigner: await chooseSigner({ key: world.people.grace.keyFile, env: {} }),
      tracker: trackerBinding(config, {}),
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOpsbookError(error) && error.kind).toBe('invalid'); // the CLI's exit 2
    expect((error as Error).message).toMatch(/NUL/);
  });
});

describe('secret params', () => {
  it('reach the host but never the plan, the approval, the CLI output, the journal or the state dir', async () => {
    const token = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const env = { OPSBOOK_PARAM_TOKEN: token };
    const dir = path.join(world.markerDir, 'secret');
    await mkdir(dir);
    const outputs: string[] = [];
    const onCommandLine = await world.opsbook([
      'plan',
      'secret-token',
      '--ticket',
      'OPS-902',
      '--param',
      `token=${token}`,
      '--param',
      `dir=${dir}`,
    ]);
    outputs.push(onCommandLine.stdout, onCommandLine.stderr);
    expect(onCommandLine.stderr).toMatch(/param token is secret: .*OPSBOOK_PARAM_TOKEN/);
    expect(onCommandLine.code).toBe(2);

    const file = await planApproval(world, 'secret-token', 'secret.json', { params: { dir }, env });
    await approveAs(world, file, world.people.alice);
    for (const args of [
      ['plan', '--show', file],
      ['verify', file],
      ['run', file],
    ]) {
      const r = await world.opsbook(args, { env });
      expect(r.code, args.join(' ')).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    const run = outputs.at(-2)!;
    const runId = /run (\S+) ok in/.exec(run)?.[1];
    expect(runId).toBeDefined();
    for (const args of [
      ['runs', 'show', runId!, '--output'],
      ['runs', 'list'],
      ['journal', 'verify'],
    ]) {
      const r = await world.opsbook(args, { env });
      expect(r.code, args.join(' ')).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    // The host got the real value (the script hashed it)…
    const sha = createHash('sha256').update(token).digest('hex');
    for (const host of world.hostNames)
      expect((await readFile(path.join(dir, `${host}.token-sha256`), 'utf8')).trim()).toBe(sha);
    // …and everything opsbook printed or kept shows it masked, never in clear.
    const shown = outputs.join('\n');
    expect(shown).toContain('h1 | token is ***');
    expect(shown).toContain('script got token *** with --verbose');
    expect(shown).not.toContain(token);
    expect(await readFile(file, 'utf8')).not.toContain(token);
    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
    expect(journal.find((e) => e.type === 'run-start')).toMatchObject({ secretParams: ['token'] });
    const ends = journal.filter((e) => e.type === 'step-end' && e.step === 'echo-token');
    expect(ends.map((e) => [e.stdout, e.stderr])).toEqual([
      ['token is ***\n', 'on stderr ***\n'],
      ['token is ***\n', 'on stderr ***\n'],
    ]);
    for (const f of await filesUnder(world.stateDir))
      expect((await readFile(f)).includes(token), f).toBe(false);
  });

  it('refuses to start without the secret in the environment, naming the variable, touching no host', async () => {
    const dir = path.join(world.markerDir, 'no-secret');
    await mkdir(dir);
    const env = { OPSBOOK_PARAM_TOKEN: 'placeholder-token' };
    const file = await planApproval(world, 'secret-token', 'no-secret.json', {
      params: { dir },
      env,
    });
    await approveAs(world, file, world.people.alice);
    const logins = world.hosts.map((h) => h.countLogins());
    const r = await world.opsbook(['run', file], { env: { OPSBOOK_PARAM_TOKEN: '' } });
    expect(r.stderr).toContain('export OPSBOOK_PARAM_TOKEN');
    expect(r.code).toBe(2);
    expect(await readdir(dir)).toEqual([]);
    expect(world.hosts.map((h) => h.countLogins())).toEqual(logins);
  });
});

describe('placeholders where the quotes opsbook adds do not hold', () => {
  const runbook = (name: string, run: string) => `apiVersion: opsbook/v1
kind: Runbook
metadata: {name: ${name}, title: Echoes a param, category: change, grade: P3, owners: [ops-test]}
spec:
  params:
    x: {type: string}
  targets: {default: all}
  steps:
    - id: show
      name: Show it
      run: |
${run.replace(/^/gm, '        ')}
`;

  it('refuses "{{ params.x }}" in validate and plan, at its line and column, before any host', async () => {
    await writeRunbook(world.runbooksDir, 'quoted-param', {
      yaml: runbook('quoted-param', `echo "got {{ params.x }}"\necho \`ls {{ params.x }}\``),
    });
    const validate = await world.opsbook(['validate', 'quoted-param']);
    expect(validate.stdout + validate.stderr).not.toMatch(stackTrace);
    expect(validate.code).toBe(2);
    expect(validate.stdout + validate.stderr).toMatch(
      /runbook\.yaml:12:19: \{\{ params\.x \}\} is inside double quotes: .*remove the quotes around it/,
    );
    expect(validate.stdout + validate.stderr).toMatch(
      /runbook\.yaml:13:18: \{\{ params\.x \}\} is inside backquotes/,
    );
    const logins = world.hosts.map((h) => h.countLogins());
    const plan = await world.opsbook([
      'plan',
      'quoted-param',
      '--ticket',
      'OPS-903',
      '--param',
      `x=$(touch ${pwned}-quoted)`,
      '-o',
      'quoted.json',
    ]);
    expect(plan.stdout + plan.stderr).not.toMatch(stackTrace);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/inside double quotes/);
    expect(exists(path.join(world.dir, 'quoted.json'))).toBe(false);
    expect(exists(`${pwned}-quoted`)).toBe(false);
    expect(world.hosts.map((h) => h.countLogins())).toEqual(logins);
    // The other runbooks of this world are validated and planned without it.
    await rm(path.join(world.runbooksDir, 'quoted-param'), { recursive: true });
  });

  it('refuses a value with a line break for a placeholder in a comment, which it would end', async () => {
    await writeRunbook(world.runbooksDir, 'commented-param', {
      yaml: runbook('commented-param', '# cleaning {{ params.x }}\ntrue'),
    });
    expect((await world.opsbook(['validate', 'commented-param'])).code).toBe(0);
    const attack = await world.opsbook([
      'plan',
      'commented-param',
      '--ticket',
      'OPS-904',
      '--param',
      `x=a\ntouch ${pwned}-comment #`,
      '-o',
      'comment.json',
    ]);
    expect(attack.stdout + attack.stderr).not.toMatch(stackTrace);
    expect(attack.code).toBe(2);
    expect(attack.stderr).toMatch(
      /\{\{ params\.x \}\} is in a shell comment, and its value has a line break, which ends the comment/,
    );
    expect(exists(path.join(world.dir, 'comment.json'))).toBe(false);
    expect(exists(`${pwned}-comment`)).toBe(false);
    // A value without a line break plans: the comment stays a comment.
    const file = await planApproval(world, 'commented-param', 'comment-ok.json', {
      params: { x: '/var/log/app' },
    });
    const shown = await world.opsbook(['plan', '--show', file]);
    expect(shown.stdout).toContain("# cleaning '/var/log/app'");
  });
});
