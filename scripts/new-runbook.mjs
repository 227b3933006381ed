#!/usr/bin/env node
// Scaffolds a runbook package that validates: `pnpm new-runbook NAME [--category C] [--title T]`.
// Writes runbooks/NAME/{package.json,runbook.yaml} and a changeset for its first version, then
// runs `opsbook validate` on it so that what it made is proven valid. Its inputs are checked before
// anything is written, nothing is overwritten, and what it wrote is taken back when validation
// fails or it is stopped. The name rule, package.json, the changeset and the YAML writer are
// @opsbook/curation's, which `opsbook promote` uses too.
import {
  checkRunbookName,
  findChangesetHome,
  firstVersionChangeset,
  RUNBOOK_NAME_RULE,
  RUNBOOK_TITLE_MAX,
  renderYaml,
  runbookPackageJson,
  runbookTitleProblem,
  scaffoldChoices,
} from '@opsbook/curation';
import { $, echo, fs, parseArgv, path } from 'zx';

const usage = `usage: pnpm new-runbook NAME [--category routine|incident|change] [--title "…"] [--grade P1..P4] [--root DIR]

NAME: ${RUNBOOK_NAME_RULE}.
--title: one line of at most ${RUNBOOK_TITLE_MAX} characters, without tabs or control characters.
--root: an existing folder, the repository to create it in (default: this one).
Nothing is written when NAME's runbook folder or its changeset exists, or when what it made does
not validate.`;

/** A user's mistake: one message on stderr, exit 2. */
function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

// Option values as the user typed them: never numbers (a title of 0123 stays 0123), never true.
const valued = ['category', 'title', 'grade', 'root'];
const argv = parseArgv(process.argv.slice(2), { string: ['_', ...valued], boolean: ['help', 'h'] });
if (argv.help || argv.h) {
  echo(usage);
  process.exit(0);
}
const options = {};
for (const key of valued) {
  const v = argv[key];
  if (v === undefined) continue;
  if (Array.isArray(v)) fail(`--${key} is given ${v.length} times: give it once\n${usage}`);
  if (v === false)
    fail(`--no-${key} is not an option: leave --${key} out for its default\n${usage}`);
  // `--title` last, or followed by another option (a value that starts with - is written --title=-…).
  if (v === '')
    fail(`--${key} needs a value (write one that starts with "-" as --${key}=…)\n${usage}`);
  options[key] = v;
}
const known = new Set(['_', ...valued, 'help', 'h']);
const unknown = Object.keys(argv).filter((k) => !known.has(k));
if (unknown.length) fail(`unknown option --${unknown[0]}\n${usage}`);
const [name, ...extra] = argv._.map(String);
if (!name || extra.length) fail(`give exactly one runbook name\n${usage}`);
let choices;
try {
  // The rules opsbook promote applies too (@opsbook/curation's scaffold).
  checkRunbookName(name);
  choices = scaffoldChoices(options.category, options.grade);
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
const title = options.title ?? `TODO: say in one line what ${name} does`;
const titleProblem = runbookTitleProblem(title);
if (titleProblem) fail(`--title ${titleProblem}`);

const root = path.resolve(options.root ?? path.join(import.meta.dirname, '..'));
if (options.root !== undefined) {
  const what = await fs.stat(root).then(
    (s) => (s.isDirectory() ? undefined : 'is a file, not a folder'),
    (e) => (e.code === 'ENOENT' ? 'does not exist' : `cannot be read (${e.code ?? e.message})`),
  );
  if (what)
    fail(
      `--root ${options.root} ${what}: give the folder of the repository to create the runbook in (the one holding opsbook.yaml), or leave --root out for this one`,
    );
}
// This checkout's built binary, run as a command. A path, not the package name: the root does not
// depend on @opsbook/cli, since pnpm would warn on a fresh install that its bin is not built yet.
const cli = path.join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'bin.js');
const dir = path.join(root, 'runbooks', name);
const changeset = firstVersionChangeset(name, `First version of the ${name} runbook.`);
// The changeset goes where changesets read it: the .changeset/ of the pnpm workspace that takes
// runbooks/NAME as a package, as opsbook promote does. Anywhere else one naming @runbooks/NAME
// would make every `changeset status` and `changeset version` there fail: none is written.
const home = await findChangesetHome(dir, name, (f) => path.relative(root, f) || '.');
const changesetFile = home.kind === 'workspace' ? home.file : undefined;
const changesetShown = changesetFile && (path.relative(root, changesetFile) || changesetFile);
// Refused before anything is written: the runbook, or a changeset of that name (another runbook's
// first version, or one being made), is someone's work.
if (await exists(dir))
  fail(`runbooks/${name} already exists; choose another name or edit that runbook`);
if (changesetFile && (await exists(changesetFile)))
  fail(
    `${changesetShown} already exists: a runbook named ${name} is there or being made; choose another name, or delete that changeset if it is left from a runbook that is gone, then run this again`,
  );

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

// Written only where nothing was (a runbook made at the same time is not overwritten), and taken
// back whole when writing or validating fails or the user stops it: a retry finds nothing in its
// way. Synchronously, so that a signal comes before or after the writes, never between them.
const made = [];
const madeFolders = [];
const takeBack = () => {
  for (const p of made.splice(0)) fs.rmSync(p, { recursive: true, force: true });
  for (const folder of madeFolders.splice(0).reverse()) {
    // Left when something else is in it by now (and then it is not this run's alone).
    try {
      fs.rmdirSync(folder);
    } catch {}
  }
};
const onSignal = (signal) => {
  takeBack();
  process.stderr.write(`new-runbook stopped (${signal}): nothing was written\n`);
  process.exit(130);
};
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
for (const signal of signals) process.on(signal, onSignal);
try {
  for (const folder of [
    path.dirname(dir),
    ...(changesetFile ? [path.dirname(changesetFile)] : []),
  ]) {
    const first = fs.mkdirSync(folder, { recursive: true });
    // runbooks/ or .changeset/ made here: removed too, when empty, if this fails.
    if (first) madeFolders.push(first);
  }
  fs.mkdirSync(dir);
  made.push(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), runbookPackageJson(name, title), { flag: 'wx' });
  fs.writeFileSync(path.join(dir, 'runbook.yaml'), runbook, { flag: 'wx' });
  if (changesetFile) {
    fs.writeFileSync(changesetFile, changeset.text, { flag: 'wx' });
    made.push(changesetFile);
  }
} catch (e) {
  const existed = e.code === 'EEXIST';
  // Only what this run made: an EEXIST is someone else's, made since the check above.
  takeBack();
  if (existed)
    fail(
      `${path.relative(root, e.path) || e.path} was just made by someone else; nothing was written: choose another name`,
    );
  process.stderr.write(
    `error: cannot write ${path.relative(root, e.path ?? root) || root} (${e.code ?? e.message}); nothing was written: check that the folder is writable and has room\n`,
  );
  process.exit(1);
}

const created = changesetFile
  ? `created runbooks/${name} and ${changesetShown}`
  : `created runbooks/${name}; ${home.reason}`;
// The scaffold's step is a placeholder: lint (and so CI) fails on it until it is written.
const next = `next: write runbooks/${name}/runbook.yaml (title, description, params, the steps); opsbook lint fails on it (scaffold-todo) until you replace the step 'TODO the change itself' with the real change`;
if (!(await fs.pathExists(cli))) {
  echo(created);
  echo(next);
  echo('opsbook is not built yet: run pnpm build, then opsbook validate ' + name);
  process.exit(0);
}
const result = await $({ cwd: root, nothrow: true, quiet: true })`node ${cli} validate ${name}`;
// Stopped with it (^C reaches both), before this process's own handler ran.
if (result.exitCode === null) onSignal(result.signal ?? 'SIGTERM');
if (result.exitCode !== 0) {
  takeBack();
  process.stderr.write(result.stdout);
  process.stderr.write(result.stderr);
  process.stderr.write(
    `error: opsbook validate refused what new-runbook made (above), so nothing was written: fix what it names (the --root repository's opsbook.yaml, or a bug of new-runbook to report) and run this again\n`,
  );
  // validate's own exit code, as before: 2 for what it refused.
  process.exit(result.exitCode);
}
for (const signal of signals) process.off(signal, onSignal);
echo(created);
echo(next);
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exit(0);

async function exists(file) {
  // lstat: a dangling link there is something in the way too.
  return fs.promises.lstat(file).then(
    () => true,
    (e) => e.code !== 'ENOENT',
  );
}
