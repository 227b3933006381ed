#!/usr/bin/env node
// The README's first command ends here: opsbook's whole loop on its embedded defaults, in a
// temporary folder — demo senior keys and a trust store, a ticket in the embedded tracker, a plan
// for daily-inspection on this machine (local transport, no SSH server needed), a senior's
// signature, the run, a second senior's acceptance, the journal, and the HTML health report.
// Nothing outside the temporary folder is changed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $, chalk, echo } from 'zx';
import { makeDemoPeople, writeDemoWorkspace } from './demo-workspace.mjs';

const root = path.resolve(import.meta.dirname, '..');
// The built binary, run as a user runs it. A path, not the package name: the root does not depend
// on @opsbook/cli, since pnpm would warn on a fresh install that its bin (dist/) is not built yet.
const bin = path.join(root, 'packages/cli/dist/bin.js');
$.verbose = false;
$.quiet = true;

async function step(title, args, options = {}) {
  echo(`\n${chalk.bold(`$ opsbook ${args.join(' ')}`)}${chalk.dim(`   # ${title}`)}`);
  const r = await $({
    cwd: options.cwd ?? root,
    nothrow: true,
    env: { ...process.env, ...options.env },
  })`node ${bin} ${args}`;
  // Progress (stderr) came before the result (stdout) when it ran.
  process.stderr.write(r.stderr);
  process.stdout.write(r.stdout);
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

echo(chalk.bold('\nopsbook demo — part 2: a ticket from symptoms to Done'));
if (process.getuid?.() !== 0) {
  echo(
    chalk.red(
      'demo stopped: part 2 pins a trust store the way a team runner does, in a folder only root can change (the person who runs must not be able to swap the seniors). Run it as root: sudo pnpm demo',
    ),
  );
  process.exit(3);
}
const work = await mkdtemp(path.join(tmpdir(), 'opsbook-demo-'));
// Two demo seniors and the engineer (ECDSA P-256 keys made here; real people use their own SSH
// keys or ssh-agent): sam approves the plan, val verifies the finished work, erin runs it and
// signs the run claim with her key.
const seniors = await makeDemoPeople(
  work,
  await import('@opsbook/approval'),
  [
    ['sam', 'Sam Senior', 'senior'],
    ['val', 'Val Verifier', 'senior'],
    ['erin', 'Erin Engineer', 'engineer'],
  ],
  (id) => `${id}@demo`,
);
await writeDemoWorkspace(work, seniors, { runbooks: JSON.stringify(path.join(root, 'runbooks')) });
echo(
  chalk.dim(
    `(working in ${work}: demo keys for seniors sam and val, approvers.yaml, opsbook.yaml; the embedded local tracker keeps tickets in state/)`,
  ),
);
// The machine's trust pin would be /etc/opsbook/trust; the demo keeps its own beside its files
// (root's, like the real one), so that it changes nothing outside the temporary folder.
const as = (user) => ({
  cwd: work,
  env: { OPSBOOK_USER: user, OPSBOOK_TRUST_DIR: path.join(work, 'trust-pin') },
});
await step('pin the trust store (explicit, never silent)', ['trust', 'init'], as('erin'));
const opened = await step(
  'engineer erin opens a ticket',
  [
    'ticket',
    'open',
    '--summary',
    'demo: daily health check of this machine',
    '--grade',
    'P4',
    '--key',
    seniors[2].keyFile,
    '--json',
  ],
  as('erin'),
);
const key = JSON.parse(opened.stdout).key ?? JSON.parse(opened.stdout).ticket?.key;
await step(
  'erin proposes a procedure, signed with her key: every command is posted for review',
  [
    'ticket',
    'propose',
    key,
    '--runbook',
    'daily-inspection',
    '--senior',
    'sam',
    '--key',
    seniors[2].keyFile,
  ],
  as('erin'),
);
await step(
  'senior sam signs exactly that plan with his SSH key',
  ['ticket', 'approve', key, '--key', seniors[0].keyFile],
  as('sam'),
);
await step(
  'erin runs it with her key: only what was signed, here (local transport)',
  ['ticket', 'run', key, '--quiet', '--key', seniors[2].keyFile],
  as('erin'),
);
await step(
  'senior val verifies the journal and post-checks and signs the acceptance',
  ['ticket', 'accept', key, '--key', seniors[1].keyFile],
  as('val'),
);
await step('the ticket shows every step', ['ticket', 'show', key], as('erin'));
await step('the run is journaled, hash-chained, and verifies', ['journal', 'verify'], as('erin'));
const reportFile = path.join(work, 'health-report.html');
await step(
  'the health report of the inspection, one self-contained HTML file',
  ['report', '--since', '1d', '--format', 'html', '-o', reportFile],
  as('erin'),
);
// Commands to paste as printed: `pnpm -s opsbook` needs the repository (there is no workspace in
// the demo folder), the demo's opsbook.yaml and the trust pin it made (OPSBOOK_TRUST_DIR above).
const sh = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);
const opsbook = `pnpm -s opsbook --config ${sh(path.join(work, 'opsbook.yaml'))}`;
echo(
  chalk.green(
    [
      `\ndemo finished. The health report: ${reportFile}`,
      `All demo files are in ${work}. To look around, from the repository root, with the demo's trust pin:`,
      `  cd ${sh(root)}`,
      `  export OPSBOOK_TRUST_DIR=${sh(path.join(work, 'trust-pin'))}`,
      `  ${opsbook} runs list`,
      `  ${opsbook} ticket show ${key}`,
      `  ${opsbook} --help`,
    ].join('\n'),
  ),
);
