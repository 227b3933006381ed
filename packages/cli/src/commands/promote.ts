import path from 'node:path';
import { type DetectedParam, promoteScript, RUNBOOK_NAME_RULE } from '@opsbook/curation';
import { loadRunbookFor } from '@opsbook/runner/catalog';
import { UsageError } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { shellCheckFromEnv } from '../shellcheck-env.js';

export default defineCommand({
  args: '<script>',
  positionals: { min: 1, max: 1 },
  options: {
    name: {
      type: 'string',
      value: 'NAME',
      description: `the runbook's name: ${RUNBOOK_NAME_RULE}`,
    },
    title: {
      type: 'string',
      value: 'TEXT',
      description: "one line: what it does (default: the script's first header comment)",
    },
    description: {
      type: 'string',
      value: 'TEXT',
      description: 'when to use it, what it changes, how to tell it worked (default: a TODO stub)',
    },
    category: {
      type: 'string',
      value: 'routine|incident|change',
      default: 'incident',
      description: 'the runbook category (change adds a postcheck to write and a timeout)',
    },
    grade: {
      type: 'string',
      value: 'P1..P4',
      description: 'default grade (P4 for routine, else P3)',
    },
    out: {
      type: 'string',
      value: 'DIR',
      description: "the folder of runbook folders (default: the repository's runbooks/)",
    },
  },
  details: `Turns a shell script an engineer ran by hand into a runbook package, valid at once:
  runbooks/NAME/runbook.yaml        params, one script: step, a description stub
  runbooks/NAME/scripts/SCRIPT      the script, with a few lines added at its top
  runbooks/NAME/package.json        @runbooks/NAME at 0.0.0
  .changeset/new-runbook-NAME.md    its first version (minor: 0.1.0), in the .changeset/ of the
                                    pnpm workspace that owns the runbooks folder (with --out,
                                    another repository's); when no workspace takes the folder
                                    as a package, none is written and a note says what to do

Params come from what the script reads:
  $1, "\${2:-5432}", NAME=$1      positional arguments (named after the variable; default and
                                  type from \${N:-default}; required unless they have one)
  "$@" (after shift N)            one list param, args: words separated by blanks
  while getopts "h:v" o; case …   an option with a value (-h VALUE) or a boolean flag (-v), named
                                  after the variable its branch sets; arguments read
                                  before the loop and shifted away before it (DB=$1; shift)
                                  are given first, then the options. Arguments read before
                                  the loop without that shift are refused at their line:
                                  getopts would parse them too (add shift N before the loop,
                                  or read them after shift $((OPTIND - 1)))
  $BACKUP_DIR, \${PGPORT:-5432}    environment variables read before the script sets them
                                  (\${X:?msg} makes one required; names with PASSWORD, TOKEN,
                                  SECRET, KEY… are secret); HOME, PATH and the like are not
A script that parses its arguments itself (shift in a loop, set --) gets one list param, args.

The runner passes params to a script: step as environment variables OPSBOOK_PARAM_<NAME> and
never writes a value into the script. The lines promote adds hand them over as the script read
them: set -- "$OPSBOOK_PARAM_HOST" … for arguments, VAR=$OPSBOOK_PARAM_VAR for the environment.
The runner runs every script with sh: a #! naming bash or ksh becomes #!/bin/sh, and what sh
lacks ([[ ]], arrays, \${x:0:1}…: ShellCheck's SC3xxx, errors) refuses the promotion at the line
that uses it: port those lines to sh first. A #! naming python, perl… is refused.

Before anything is written, the runbook is made in a temporary folder, loaded as opsbook
validate does and linted as opsbook lint does (the real ShellCheck): a lint error (a syntax
error, a literal carriage return…) refuses the promotion with the script's file:line:col, and
nothing is written. A change runbook gets a postcheck that fails until you write it (TODO):
opsbook lint reports it as an error (scaffold-todo) until then, so CI blocks merging it.
Refused too: an existing runbook or changeset of that name, an invalid
name, a script that is missing, not a file, binary, empty or not a shell script (exit 2).

Examples:
  opsbook promote ~/bin/pg-vacuum.sh --name pg-vacuum
  opsbook promote rotate.sh --name rotate-logs --category change --title "Rotate app logs"
  opsbook promote fix.sh --name fix-nfs --out ../ops-runbooks/runbooks --json`,
  async run(ctx) {
    const name = stringOption(ctx, 'name');
    if (name === undefined)
      throw new UsageError(
        'opsbook promote needs --name NAME for the new runbook; see opsbook promote --help',
      );
    const config = await configFor(ctx);
    const out = stringOption(ctx, 'out');
    const title = stringOption(ctx, 'title');
    const description = stringOption(ctx, 'description');
    const grade = stringOption(ctx, 'grade');
    const result = await promoteScript({
      script: ctx.positionals[0]!,
      name,
      category: stringOption(ctx, 'category') ?? 'incident',
      ...(title !== undefined ? { title } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(grade !== undefined ? { grade } : {}),
      runbooksDir: out !== undefined ? path.resolve(out) : config.runbooksDir,
      load: (dir) => loadRunbookFor(dir),
      ...shellCheckFromEnv(),
    });
    const shown = (f: string) => path.relative(process.cwd(), f) || f;
    if (ctx.out.json) {
      ctx.out.printJson({
        ok: true,
        name: result.name,
        dir: result.dir,
        files: result.files,
        changeset: result.changeset ?? null,
        params: result.params,
        notes: result.notes,
        findings: result.findings,
      });
      return exitCodes.ok;
    }
    const { style } = ctx.out;
    const warnings = result.findings.filter((f) => f.severity === 'warning').length;
    // Only the scaffold's TODO postcheck of a change runbook can be an error here.
    const todos = result.findings.filter((f) => f.severity === 'error');
    const info = result.findings.length - warnings - todos.length;
    const counts = `${warnings} warning${warnings === 1 ? '' : 's'}, ${info} info`;
    const lines = [
      todos.length
        ? style.yellow(
            `✓ promoted ${ctx.positionals[0]} to ${shown(result.dir)}: it validates; opsbook lint fails on it (scaffold-todo) until you write its TODO postcheck (${counts})`,
          )
        : style.green(
            `✓ promoted ${ctx.positionals[0]} to ${shown(result.dir)}: it validates and lints with no error (${counts})`,
          ),
      ...result.files.map((f) => `  ${shown(f)}`),
      '',
      style.bold('Params'),
      result.params.length
        ? formatTable(
            ['NAME', 'TYPE', 'DEFAULT', 'FROM'],
            result.params.map((p) => [
              p.name,
              `${p.type}${p.secret ? ', secret' : ''}`,
              p.default !== undefined ? JSON.stringify(p.default) : p.required ? '(required)' : '—',
              sourceOf(p),
            ]),
          )
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n')
        : '  (none: the script reads no argument and no environment variable of its own)',
    ];
    if (result.notes.length)
      lines.push('', style.bold('Notes'), ...result.notes.map((n) => `  - ${n}`));
    if (result.findings.length)
      lines.push(
        '',
        style.bold('Lint'),
        ...result.findings.map(
          (f) =>
            `  ${f.file}:${f.line}:${f.col}: ${style.yellow(f.severity)} ${f.rule}: ${f.message}`,
        ),
      );
    // By name only where this repository's commands look for it; elsewhere (--out) by folder.
    const inRepository = path.dirname(result.dir) === path.resolve(config.runbooksDir);
    const folder = shown(result.dir);
    const ref = inRepository ? result.name : folder.includes('/') ? folder : `./${folder}`;
    lines.push(
      '',
      `Next: replace the TODOs in ${shown(path.join(result.dir, 'runbook.yaml'))} (title, description, each param's description${todos.length ? ', and the postcheck: lint fails until it proves the change worked' : ''}), then opsbook lint ${ref} and opsbook show ${ref}.`,
    );
    ctx.out.print(lines.join('\n'));
    return exitCodes.ok;
  },
});

function sourceOf(p: DetectedParam): string {
  const s = p.source;
  if (s.kind === 'positional' || s.kind === 'leading')
    return `$${s.index}${s.variable ? ` (${s.variable})` : ''}`;
  if (s.kind === 'rest') return `"$@" (words)`;
  if (s.kind === 'option')
    return `-${s.letter}${s.takesValue ? ' VALUE' : ''}${s.variable ? ` (${s.variable})` : ''}`;
  return `$${s.variable}`;
}
