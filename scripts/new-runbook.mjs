#!/usr/bin/env node
// Scaffolds a runbook package that validates: `pnpm new-runbook NAME [--category C] [--title T]`.
// Writes runbooks/NAME/{package.json,runbook.yaml} and a changeset for its first version, then
// runs `opsbook validate` on it so that what it made is proven valid.
import { $, argv, echo, fs, path } from 'zx';

const usage = `usage: pnpm new-runbook NAME [--category routine|incident|change] [--title "…"] [--grade P1..P4] [--root DIR]

NAME: lowercase letters, digits and "-", starting with a letter (e.g. rotate-certs).
--root: the repository to create it in (default: this one).`;

const fail = (message) => {
  echo(`error: ${message}`);
  process.exit(2);
};

if (argv.help || argv.h) {
  echo(usage);
  process.exit(0);
}
const known = new Set(['_', 'category', 'title', 'grade', 'root', 'help', 'h']);
const unknown = Object.keys(argv).filter((k) => !known.has(k));
if (unknown.length) fail(`unknown option --${unknown[0]}\n${usage}`);
const [name, ...extra] = argv._.map(String);
if (!name || extra.length) fail(`give exactly one runbook name\n${usage}`);
if (!/^[a-z][a-z0-9-]*$/.test(name) || name.length > 64)
  fail(`'${name}' is not a valid runbook name\n${usage}`);
const category = argv.category ?? 'incident';
if (!['routine', 'incident', 'change'].includes(category))
  fail(`--category must be routine, incident or change, not '${category}'`);
const grade = argv.grade ?? (category === 'routine' ? 'P4' : 'P3');
if (!/^P[1-4]$/.test(grade)) fail(`--grade must be P1, P2, P3 or P4, not '${grade}'`);
const title = String(argv.title ?? `TODO: say in one line what ${name} does`);

const root = path.resolve(argv.root ?? path.join(import.meta.dirname, '..'));
// This checkout's built binary, run as a command. A path, not the package name: the root does not
// depend on @opsbook/cli, since pnpm would warn on a fresh install that its bin is not built yet.
const cli = path.join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'bin.js');
const dir = path.join(root, 'runbooks', name);
if (await fs.pathExists(dir))
  fail(`runbooks/${name} already exists; choose another name or edit that runbook`);

const yamlString = (s) => JSON.stringify(s);
const runbook = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: ${yamlString(title)}
  description: |
    TODO: when to use this runbook, what it changes, and how to tell it worked.
  category: ${category}
  grade: ${grade}
  owners: [ops-platform]
spec:
  params:
    path:
      type: string
      default: /var/log
      pattern: "^/"
      description: TODO replace with the runbook's own parameters
  targets:
    default: all
    concurrency: 10
    maxFailures: 0
  prechecks:
    - id: state-before
      name: Record the state before the change
      run: ls -la {{ params.path }}
  steps:
    - id: do-the-work
      name: TODO the change itself
      run: echo would act on {{ params.path }} of {{ host.name }}
  postchecks:
    - id: state-after
      name: Check the result
      run: test -d {{ params.path }}
`;

const pkg = { name: `@runbooks/${name}`, version: '0.0.0', private: true, description: title };
await fs.ensureDir(dir);
await fs.ensureDir(path.join(root, '.changeset'));
await fs.writeFile(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
await fs.writeFile(path.join(dir, 'runbook.yaml'), runbook);
await fs.writeFile(
  path.join(root, '.changeset', `new-runbook-${name}.md`),
  `---\n"@runbooks/${name}": minor\n---\n\nFirst version of the ${name} runbook.\n`,
);
echo(`created runbooks/${name} and .changeset/new-runbook-${name}.md`);

if (!(await fs.pathExists(cli))) {
  echo('opsbook is not built yet: run pnpm build, then opsbook validate ' + name);
  process.exit(0);
}
const result = await $({ cwd: root, nothrow: true })`node ${cli} validate ${name}`;
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exit(result.exitCode ?? 1);
