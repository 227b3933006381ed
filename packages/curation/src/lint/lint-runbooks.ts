import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunbookBundle } from '@opsbook/schema';
import { compareFindings, type LintFinding } from './lint-finding.js';
import type { LintSeverity } from './lint-rules.js';
import { ownRuleFindings } from './own-rules.js';
import { locatedSteps, type ShellText, shellTexts } from './shell-texts.js';
import { runShellCheck, type ShellCheckComment, shellCheckVersion } from './shellcheck.js';
import { applySuppressions, type Directive, readDirectives } from './suppressions.js';
import { type SinceRevision, versionBaseline, versionFindings } from './version-rules.js';

export interface LintOptions {
  /** The ShellCheck program: a name on PATH or a path (default `shellcheck`). */
  shellcheck?: string;
  /** Also check the version rule against this git revision (`opsbook lint --since REV`). */
  since?: SinceRevision;
  signal?: AbortSignal;
  /**
   * How long one ShellCheck process may run, in ms (it is then killed and lint fails,
   * SHELLCHECK_FAILED); default a minute and a second per file it checks.
   */
  shellcheckTimeoutMs?: number;
  /**
   * Host vars the inventory holds Ansible Vault encrypted (`db_pw_2: !vault |`), whatever their
   * names: secret-in-command treats `{{ host.vars.X }}` of each as a credential. Without them,
   * only a credential-like name (`db_password`) makes a host var one.
   */
  vaultedHostVars?: readonly string[];
}

export interface RunbookLint {
  name: string;
  version: string;
  /** runbook.yaml as shown to the user. */
  file: string;
  /** Every finding, suppressed ones included (they carry `suppressed`), in file order. */
  findings: LintFinding[];
}

export interface LintCounts {
  error: number;
  warning: number;
  info: number;
  /** Findings a directive suppressed (not in the three counts above). */
  suppressed: number;
}

export interface LintReport {
  shellcheck: { program: string; version: string };
  runbooks: RunbookLint[];
  counts: LintCounts;
}

const levelOf: Record<ShellCheckComment['level'], LintSeverity> = {
  error: 'error',
  warning: 'warning',
  info: 'info',
  style: 'info',
};

/**
 * ShellCheck's SC3xxx ("In POSIX sh, … is undefined") that every sh opsbook meets has anyway
 * (dash, BusyBox ash, bash as sh): `local` (SC3043), echo's flags (SC3037: `-n` works in each).
 */
const EVERY_SH_HAS = new Set([3037, 3043]);

/**
 * A finding's severity: ShellCheck's level, except that what POSIX sh lacks is an error. The
 * runner runs every script and run: block with sh, which on Debian and Ubuntu is dash: there
 * `[[ … ]]` is "not found", an array a syntax error, `${x:0:1}` a bad substitution. In an `if`,
 * such a step does nothing and still ends ok, so a warning was not enough.
 */
function severityOf(c: ShellCheckComment): LintSeverity {
  return shLacks(c) ? 'error' : (levelOf[c.level] ?? 'warning');
}

function shLacks(c: ShellCheckComment): boolean {
  return c.code >= 3000 && c.code < 4000 && !EVERY_SH_HAS.has(c.code);
}

/**
 * Lints runbooks that loaded: every run: block and script through ShellCheck, opsbook's own
 * rules, then the `# opsbook-lint disable=` directives. Throws SHELLCHECK_MISSING when ShellCheck
 * cannot be run, even with nothing for it to check: lint without it would pass what it never read.
 */
export async function lintRunbooks(
  bundles: readonly RunbookBundle[],
  options: LintOptions = {},
): Promise<LintReport> {
  const program = options.shellcheck ?? 'shellcheck';
  const prepared = bundles.map((bundle) => {
    const steps = locatedSteps(bundle);
    return { bundle, steps, texts: shellTexts(bundle, steps) };
  });
  const all = prepared.flatMap((p) => p.texts);
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-lint-'));
  try {
    // ShellCheck names each finding's file as it was given: that path leads back to its text.
    const byPath = new Map<string, ShellText>();
    await Promise.all(
      all.map(async (text, k) => {
        const file = text.path ?? path.join(dir, `${k}-${text.runbook}-${text.step.id}.sh`);
        if (!text.path) await writeFile(file, text.text);
        byPath.set(file, text);
      }),
    );
    const limits = {
      signal: options.signal,
      timeoutMs: options.shellcheckTimeoutMs,
      shown: (file: string) => byPath.get(file)?.file ?? file,
    };
    const [version, comments] = await Promise.all([
      shellCheckVersion(program, limits),
      runShellCheck(program, [...byPath.keys()], limits),
    ]);
    const baseline = options.since ? await versionBaseline(options.since) : undefined;
    const versions = new Map<RunbookBundle, LintFinding[]>();
    if (baseline)
      for (const { bundle } of prepared)
        versions.set(bundle, await versionFindings(bundle, baseline));
    const runbooks = prepared.map(({ bundle, steps, texts }) => {
      const own = new Set(texts);
      const found = comments.flatMap((c) => {
        const text = byPath.get(c.file);
        return text && own.has(text) ? [findingOf(c, text, steps)] : [];
      });
      found.push(...ownRuleFindings(bundle, steps, texts, options.vaultedHostVars));
      found.push(...(versions.get(bundle) ?? []));
      const yaml = readDirectives(
        bundle.source.text,
        bundle.file,
        bundle.name,
        steps.map((s) => s.lines),
      );
      const directives: Directive[] = [...yaml.directives];
      found.push(...yaml.problems);
      for (const t of texts.filter((t) => t.kind === 'script')) {
        const d = readDirectives(t.text, t.file, bundle.name);
        directives.push(...d.directives);
        found.push(...d.problems);
      }
      return {
        name: bundle.name,
        version: bundle.version,
        file: bundle.file,
        findings: applySuppressions(found, directives, bundle.name).sort(compareFindings),
      };
    });
    return { shellcheck: { program, version }, runbooks, counts: countFindings(runbooks) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function findingOf(
  c: ShellCheckComment,
  text: ShellText,
  steps: ReturnType<typeof locatedSteps>,
): LintFinding {
  const start = text.locate(c.line, c.column);
  // json1's end column is exclusive; a finding's is inclusive.
  const end = text.locate(c.endLine, Math.max(c.column, c.endColumn - 1));
  const step = steps.find((s) => s.phase === text.step.phase && s.index === text.step.index);
  return {
    rule: `SC${c.code}`,
    source: 'shellcheck',
    severity: severityOf(c),
    file: text.file,
    line: start.line,
    col: start.col,
    endLine: end.line,
    endCol: end.col,
    message: shLacks(c)
      ? `${c.message} (the runner runs it with sh: dash on Debian and Ubuntu)`
      : c.message,
    runbook: text.runbook,
    // A script's findings are the script's, whichever steps use it.
    ...(text.kind === 'run' && step ? { step: { phase: step.phase, id: step.step.id } } : {}),
  };
}

export function countFindings(runbooks: readonly RunbookLint[]): LintCounts {
  const counts: LintCounts = { error: 0, warning: 0, info: 0, suppressed: 0 };
  for (const r of runbooks)
    for (const f of r.findings) {
      if (f.suppressed) counts.suppressed++;
      else counts[f.severity]++;
    }
  return counts;
}
