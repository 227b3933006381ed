#!/usr/bin/env node
// Scaffolds a runbook package that validates: `pnpm new-runbook NAME [--category C] [--title T]`.
// Writes runbooks/NAME/{package.json,runbook.yaml} and a changeset for its first version, then
// runs `opsbook validate` on it so that what it made is proven valid. The name rule, package.json,
// the changeset and the YAML writer are @opsbook/curation's, which `opsbook promote` uses too.
import {
  checkRunbookName,
  firstVersionChangeset,
  RUNBOOK_NAME_RULE,
  renderYaml,
  runbookPackageJson,
  scaffoldChoices,
} from '@opsbook/curation';
import { $, argv, echo, fs, path } from 'zx';

const usage = `usage: pnpm new-runbook NAME [--category routine|incident|change] [--title "…"] [--grade P1..P4] [--root DIR]

NAME: ${RUNBOOK_NAME_RULE}.
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
let choices;
try {
  // The rules opsbook promote applies too (@opsbook/curation's scaffold).
  checkRunbookName(name);
  choices = scaffoldChoices(argv.category, argv.grade);
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
const title = String(argv.title ?? `TODO: say in one line what ${name} does`);

const root = path.resolve(argv.root ?? path.join(import.meta.dirname, '..'));
// This checkout's built binary, run as a command. A path, not the package name: the root does not
// depend on @opsbook/cli, since pnpm would warn on a fresh install that its bin is not built yet.
const cli = path.join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'bin.js');
const dir = path.join(root, 'runbooks', name);
if (await fs.pathExists(dir))
  fail(`runbooks/${name} already exists; choose another name or edit that runbook`);

const runbook = renderYaml({
  apiVersion: 'opsbook/v1',
  kind: 'Runbook',
  metadata: {
    name,
    title,
    description: 'TODO: when to use this runbook, what it changes, and how to tell it worked.\n',
    category: choices.category,
    grade: choices.grade,
    owners: ['ops-platform'],
  },
  spec: {
    params: {
      path: {
        type: 'string',
        default: '/var/log',
        pattern: '^/',
        description: "TODO replace with the runbook's own parameters",
      },
    },
    targets: { default: 'all', concurrency: 10, maxFailures: 0 },
    prechecks: [
      {
        id: 'state-before',
        name: 'Record the state before the change',
        run: 'ls -la {{ params.path }}',
      },
    ],
    steps: [
      {
        id: 'do-the-work',
        name: 'TODO the change itself',
        run: 'echo would act on {{ params.path }} of {{ host.name }}',
      },
    ],
    postchecks: [{ id: 'state-after', name: 'Check the result', run: 'test -d {{ params.path }}' }],
  },
});

const changeset = firstVersionChangeset(name, `First version of the ${name} runbook.`);
await fs.ensureDir(dir);
await fs.ensureDir(path.join(root, '.changeset'));
await fs.writeFile(path.join(dir, 'package.json'), runbookPackageJson(name, title));
await fs.writeFile(path.join(dir, 'runbook.yaml'), runbook);
await fs.writeFile(path.join(root, changeset.path), changeset.text);
echo(`created runbooks/${name} and ${changeset.path}`);
// The scaffold's step is a placeholder: lint (and so CI) fails on it until it is written.
echo(
  `next: write runbooks/${name}/runbook.yaml (title, description, params, the steps); opsbook lint fails on it (scaffold-todo) until you replace the step 'TODO the change itself' with the real change`,
);

if (!(await fs.pathExists(cli))) {
  echo('opsbook is not built yet: run pnpm build, then opsbook validate ' + name);
  process.exit(0);
}
const result = await $({ cwd: root, nothrow: true })`node ${cli} validate ${name}`;
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exit(result.exitCode ?? 1);
