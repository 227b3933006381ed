import path from 'node:path';
import { type LintFinding, lintRules, lintRunbooks, renderSarif } from '@opsbook/curation';
import { loadCatalog, outsideRepository, shownFolder } from '@opsbook/runner/catalog';
import { type Problem, type RunbookBundle, sortProblems, UsageError } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { shellCheckFromEnv } from '../shellcheck-env.js';
import { showControlsOnLine, showProblem } from '../terminal-safe.js';
import { vaultedHostVars } from '../vaulted-host-vars.js';

const FORMATS = ['text', 'json', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

const ruleList = [...lintRules.values()]
  .map((r) => `  ${r.id.padEnd(26)} ${r.severity.padEnd(8)} ${r.summary}`)
  .join('\n');

export default defineCommand({
  args: '[runbook…]',
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  options: {
    format: {
      type: 'string',
      value: 'text|json|sarif',
      default: 'text',
      description: 'text (file:line:col), one JSON document, or SARIF 2.1.0 for CI code scanning',
    },
    since: {
      type: 'string',
      value: 'REV',
      description:
        'also check that every runbook changed since this git revision (e.g. origin/main) has a new version or a changeset',
    },
  },
  details: `Checks every runbook of the repository, or the runbooks named, for what the schema
cannot see. Every run: block and every script goes through ShellCheck (the shellcheck program;
OPSBOOK_SHELLCHECK names another) as sh, which is how the runner runs them; a {{ … }}
placeholder is checked as the quoted word it becomes. A ShellCheck process that runs longer than
a minute and a second per file it checks (OPSBOOK_SHELLCHECK_TIMEOUT=SECONDS sets another bound)
is stopped, and lint fails saying which files it was checking. Findings point at runbook.yaml or the
script, file:line:col. Then opsbook's own rules:

${ruleList}

sudo-unneeded is a heuristic: it speaks only when every command of the step is one it knows
needs no root (echo, df, uptime, systemctl is-active/status, grep or sort reading a pipe, …)
and nothing is written to a file; it says nothing about anything else.

secret-in-command fails a secret only where it reaches a program's argv (ps shows it): an
assignment word before the command, export, a builtin (printf, echo, read), a here-string and a
pipe are fine. It follows the secret through variables, arrays, read, function arguments, xargs
and $(…) (the curation package's README lists what it does not follow). A host var is a secret
when its name says so (db_password, api_token) or when the inventory of opsbook.yaml holds it
Ansible Vault encrypted (!vault values; the vars of a vault-encrypted file only with the vault
password, ANSIBLE_VAULT_PASSWORD_FILE); lint says so on stderr when it could not read them.

Suppress a finding with a comment that gives the reason:
  sudo: true  # opsbook-lint disable=sudo-unneeded reads /root/.pgpass
At the end of a line it covers that line; on a line of its own, the next line, or the whole
step when that line is in a step (a shell comment inside a run: block works too); before
anything else of the file, the whole file. ShellCheck codes work as well (disable=SC2086), and
so do ShellCheck's own # shellcheck disable= comments inside scripts and run: blocks.

A runbook named is checked with the runbooks of the repository that compose it (uses:
runbook:NAME@RANGE, directly or through another): one whose range no longer matches its version
is reported, as the whole lint reports it.

Exit 1 when there is an error (warnings and info do not fail), 2 when a runbook does not load
(its problems are printed as by opsbook validate), 0 otherwise. --json (or --format json)
prints one JSON document, suppressed findings included; --format sarif prints SARIF 2.1.0.

With --since REV (in CI: --since origin/main) the version rule runs too: a runbook whose files
changed since REV (CHANGELOG.md and README.md aside) must have a version in its package.json
greater than at REV (semver), or a changeset in .changeset/ that names its package (pnpm
changeset), so that pnpm version-packages gives it a new version and a CHANGELOG entry. A version
lower than at REV is an error even with a changeset: versions only go up.

Examples:
  opsbook lint
  opsbook lint --since origin/main
  opsbook lint disk-cleanup --json
  opsbook lint --format sarif > opsbook-lint.sarif`,
  async run(ctx) {
    const format = formatOf(stringOption(ctx, 'format'), ctx.out.json);
    const config = await configFor(ctx);
    // A runbook named is linted with the composites that no longer resolve it (a range its new
    // version left), as the whole catalog's lint reports them.
    const results = await loadCatalog(config, ctx.positionals, process.cwd(), {
      brokenComposers: true,
    });
    const outside = results.length === 0 ? outsideRepository(config) : undefined;
    if (outside) throw new UsageError(`no runbooks to lint: ${outside}`);
    const problems: Problem[] = sortProblems(results.flatMap((r) => r.problems));
    const bundles = results.flatMap((r): RunbookBundle[] => (r.ok ? [r.bundle] : []));
    const since = stringOption(ctx, 'since');
    // Which host vars are vaulted is the inventory's: secret-in-command treats them as credentials.
    const vaulted = await vaultedHostVars(config.inventory);
    if (vaulted.note) ctx.out.note(vaulted.note);
    const report = await lintRunbooks(bundles, {
      ...shellCheckFromEnv(),
      vaultedHostVars: vaulted.names,
      ...(since !== undefined ? { since: { rev: since, cwd: config.root } } : {}),
    });
    const exit = problems.length
      ? exitCodes.invalid
      : report.counts.error > 0
        ? exitCodes.failed
        : exitCodes.ok;
    if (format === 'sarif') {
      ctx.out.printJson(renderSarif(report, { root: config.root, cwd: process.cwd() }));
      for (const p of problems) ctx.out.note(showProblem(p));
      return exit;
    }
    if (format === 'json') {
      ctx.out.printJson({
        ok: exit === exitCodes.ok,
        shellcheck: report.shellcheck,
        counts: report.counts,
        runbooks: [
          ...report.runbooks.map((r) => ({ ...r, ok: true, problems: [] })),
          ...results.flatMap((r) =>
            r.ok ? [] : [{ name: path.basename(r.dir), ok: false, problems: r.problems }],
          ),
        ],
      });
      return exit;
    }
    const { style } = ctx.out;
    if (results.length === 0) {
      ctx.out.note(
        `no runbooks found in ${shownFolder(config.runbooksDir)}: nothing to lint (create one with pnpm new-runbook NAME)`,
      );
      return exit;
    }
    for (const p of problems) ctx.out.print(showProblem(p));
    const shown = report.runbooks.flatMap((r) => r.findings.filter((f) => !f.suppressed));
    for (const f of shown) ctx.out.print(formatFinding(f, style));
    const { error, warning, info, suppressed } = report.counts;
    const counted = [
      plural(error, 'error'),
      plural(warning, 'warning'),
      `${info} info`,
      ...(suppressed ? [`${suppressed} suppressed`] : []),
    ].join(', ');
    const of = `${plural(bundles.length, 'runbook')} (ShellCheck ${report.shellcheck.version})`;
    if (problems.length)
      ctx.out.print(
        style.red(
          `✗ ${plural(results.length - bundles.length, 'runbook')} did not load (opsbook validate); ${counted} in ${of}`,
        ),
      );
    else if (error) ctx.out.print(style.red(`✗ ${counted} in ${of}`));
    else ctx.out.print(style.green(`✓ no errors in ${of}: ${counted}`));
    return exit;
  },
});

function formatOf(option: string | undefined, json: boolean): Format {
  const format = option ?? 'text';
  if (!FORMATS.includes(format as Format))
    throw new UsageError(
      `--format ${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}; see opsbook lint --help`,
    );
  if (json && format === 'sarif')
    throw new UsageError('--json and --format sarif ask for two documents: give one of them');
  return json ? 'json' : (format as Format);
}

function formatFinding(
  f: LintFinding,
  style: { red(s: string): string; yellow(s: string): string; dim(s: string): string },
): string {
  const paint =
    f.severity === 'error' ? style.red : f.severity === 'warning' ? style.yellow : style.dim;
  return `${showControlsOnLine(f.file)}:${f.line}:${f.col}: ${paint(f.severity)} ${f.rule}: ${showControlsOnLine(f.message)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
