#!/usr/bin/env node
// The README's first command ends here: a tour of opsbook on its embedded defaults.
import path from 'node:path';
import { $, chalk, echo } from 'zx';

const root = path.resolve(import.meta.dirname, '..');
const opsbook = ['node', path.join(root, 'packages/cli/dist/bin.js')];
$.verbose = false;

async function step(title, args) {
  echo(chalk.bold(`\n$ opsbook ${args.join(' ')}`) + chalk.dim(`   # ${title}`));
  const r = await $({ cwd: root, nothrow: true })`${opsbook} ${args}`;
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.exitCode !== 0) {
    echo(chalk.red(`demo stopped: opsbook ${args.join(' ')} exited ${r.exitCode}`));
    process.exit(r.exitCode ?? 1);
  }
}

await step('check every runbook against the schema and the rules', ['validate']);
await step('the runbooks of this repository', ['list']);
await step('what a reviewer sees of one runbook', ['show', 'collect-diagnostics']);
await step('the digest an approval is bound to', ['digest', 'collect-diagnostics']);
echo(chalk.green('\ndemo finished. Try: pnpm opsbook --help'));
