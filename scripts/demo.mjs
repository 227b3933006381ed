#!/usr/bin/env node
// The README's first command ends here: opsbook's whole loop on its embedded defaults, in a
// temporary folder — a demo senior key and trust store, a plan for collect-diagnostics on this
// machine (local transport, no SSH server needed), the senior's signature, the run, and its
// journal. Nothing outside the temporary folder is changed.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $, chalk, echo } from 'zx';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
$.verbose = false;
$.quiet = true;

async function step(title, args, options = {}) {
  echo(`\n${chalk.bold(`$ opsbook ${args.join(' ')}`)}${chalk.dim(`   # ${title}`)}`);
  const r = await $({ cwd: options.cwd ?? root, nothrow: true, env: { ...process.env, ...options.env } })`node ${bin} ${args}`;
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.exitCode !== 0) {
    echo(chalk.red(`demo stopped: opsbook ${args.join(' ')} exited ${r.exitCode}`));
    process.exit(r.exitCode ?? 1);
  }
  return r;
}

echo(chalk.bold('opsbook demo — part 1: the runbooks'));
await step('check every runbook against the schema and the rules', ['validate']);
await step('the runbooks of this repository', ['list']);
await step('what a reviewer sees of one runbook', ['show', 'collect-diagnostics']);

echo(chalk.bold('\nopsbook demo — part 2: plan, approve, run'));
const work = await mkdtemp(path.join(tmpdir(), 'opsbook-demo-'));
// A demo senior key (ECDSA P-256; real seniors use their own SSH keys or ssh-agent).
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyFile = path.join(work, 'demo-senior.pem');
await writeFile(keyFile, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
const { loadKeyFileSigner, formatPublicKeyLine } = await import(path.join(root, 'packages/approval/dist/index.js'));
const signer = await loadKeyFileSigner(privateKey.export({ type: 'sec1', format: 'pem' }), { file: keyFile });
await writeFile(
  path.join(work, 'approvers.yaml'),
  `apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
  - id: demo-senior
    name: Demo Senior
    roles: [senior]
    keys: ["${formatPublicKeyLine(signer.publicKey)} demo-senior"]
policy:
  signatures: 1
  maxValidity: 7d
rotation: {signatures: 1}
`,
);
await writeFile(
  path.join(work, 'opsbook.yaml'),
  `apiVersion: opsbook/v1
kind: Config
runbooks: ${JSON.stringify(path.join(root, 'runbooks'))}
stateDir: state
trustStore: approvers.yaml
tracker: {kind: local}
`,
);
echo(chalk.dim(`(working in ${work}: a demo senior key, approvers.yaml and opsbook.yaml)`));
const inWork = { cwd: work };
await step('pin the trust store (explicit, never silent)', ['trust', 'init'], inWork);
await step('an engineer plans the run: exact commands for every host', ['plan', 'collect-diagnostics', '--ticket', 'DEMO-1', '--param', 'lines=20', '-o', 'DEMO-1.approval.json'], inWork);
await step('a senior signs exactly that plan with their SSH key', ['approve', 'DEMO-1.approval.json', '--key', keyFile], inWork);
await step('anyone can check the approval before running', ['verify', 'DEMO-1.approval.json'], inWork);
await step('run it: only what was signed, on this machine (local transport)', ['run', 'DEMO-1.approval.json', '--quiet'], inWork);
await step('the run is journaled, hash-chained', ['runs', 'list'], inWork);
await step('and the journal verifies', ['journal', 'verify'], inWork);
echo(chalk.dim('\nrunning the same approval again is refused (maxRuns 1):'));
const replay = await $({ cwd: work, nothrow: true })`node ${bin} run DEMO-1.approval.json`;
echo(`${replay.stderr.trim()}  ${chalk.dim(`(exit ${replay.exitCode})`)}`);
echo(chalk.green(`\ndemo finished. Its files are in ${work}. Try: pnpm opsbook --help`));
