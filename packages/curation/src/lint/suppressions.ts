import { didYouMean } from '@opsbook/schema';
import type { LintFinding } from './lint-finding.js';
import { isKnownRule, lintRules, type OwnRuleId } from './lint-rules.js';

/**
 * `# opsbook-lint disable=ID[,ID…] reason…` in runbook.yaml (a YAML comment, or a shell comment
 * inside a run: block) or in a script. A reason is required: a suppression is a decision someone
 * must be able to read. What it covers:
 *
 * - at the end of a line: that line;
 * - on a line of its own before anything else of the file (after the #! line): the whole file;
 * - on a line of its own elsewhere: the next line that is not blank or a comment, or, when that
 *   line is part of a step of runbook.yaml, that whole step (run: block and script findings of
 *   the step included — script findings are suppressed in the script itself).
 */
export interface Directive {
  file: string;
  line: number;
  col: number;
  ids: string[];
  reason: string;
  /** The lines it covers, inclusive. */
  from: number;
  to: number;
}

export interface LineRange {
  from: number;
  to: number;
}

const DIRECTIVE = /(^|\s)#\s*opsbook-lint\s+disable=(\S*)(.*)$/;

/** The directives of a file, and what is wrong with any of them (rule suppression-invalid). */
export function readDirectives(
  text: string,
  file: string,
  runbook: string,
  steps: readonly LineRange[] = [],
): { directives: Directive[]; problems: LintFinding[] } {
  const lines = text.split('\n');
  const isContent = (l: string) => l.trim() !== '' && !l.trimStart().startsWith('#');
  const firstContent = lines.findIndex(isContent);
  const directives: Directive[] = [];
  const problems: LintFinding[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) continue;
    const line = i + 1;
    const col = m.index + m[1]!.length + 1;
    const problem = (message: string) =>
      problems.push({
        rule: 'suppression-invalid',
        source: 'opsbook',
        severity: lintRules.get('suppression-invalid')!.severity,
        file,
        line,
        col,
        endLine: line,
        endCol: lines[i]!.length,
        message,
        runbook,
      });
    const ids = m[2]!.split(',').filter((id) => id !== '');
    const reason = m[3]!.trim();
    if (ids.length === 0 || !reason) {
      problem(
        `a suppression needs the rule and a reason: # opsbook-lint disable=${ids[0] ?? 'RULE'} why this is right here`,
      );
      continue;
    }
    const known = ids.filter(isKnownRule);
    for (const id of ids.filter((id) => !isKnownRule(id))) {
      const guess = didYouMean(id, [...lintRules.keys()]);
      problem(
        `no lint rule '${id}': ${guess ? `did you mean '${guess}'?` : 'name one of opsbook lint --help, or a ShellCheck code such as SC2086'}`,
      );
    }
    if (known.length === 0) continue;
    const isOwnLine = lines[i]!.slice(0, m.index).trim() === '';
    let from = line;
    let to = line;
    if (isOwnLine && (firstContent < 0 || i < firstContent)) to = Number.POSITIVE_INFINITY;
    else if (isOwnLine) {
      const next = lines.findIndex((l, k) => k > i && isContent(l));
      from = to = next < 0 ? line : next + 1;
      const step = steps.find((s) => s.from <= from && from <= s.to);
      if (step) ({ from, to } = step);
    }
    if (to === Number.POSITIVE_INFINITY) from = 1;
    directives.push({ file, line, col, ids: known, reason, from, to });
  }
  return { directives, problems };
}

/**
 * Marks the findings the directives cover as suppressed (they stay in the report, with the
 * reason) and adds a suppression-unused warning for each rule a directive names but covers
 * nothing of. Findings about suppressions themselves cannot be suppressed.
 */
export function applySuppressions(
  findings: readonly LintFinding[],
  directives: readonly Directive[],
  runbook: string,
): LintFinding[] {
  const used = new Set<string>();
  const out = findings.map((f) => {
    if (f.rule.startsWith('suppression-')) return f;
    const d = directives.find(
      (d) => d.file === f.file && d.from <= f.line && f.line <= d.to && d.ids.includes(f.rule),
    );
    if (!d) return f;
    used.add(`${d.file}:${d.line}:${f.rule}`);
    return { ...f, suppressed: { reason: d.reason, file: d.file, line: d.line } };
  });
  const unused: OwnRuleId = 'suppression-unused';
  for (const d of directives)
    for (const id of d.ids) {
      if (used.has(`${d.file}:${d.line}:${id}`)) continue;
      out.push({
        rule: unused,
        source: 'opsbook',
        severity: lintRules.get(unused)!.severity,
        file: d.file,
        line: d.line,
        col: d.col,
        endLine: d.line,
        endCol: d.col,
        message: `disable=${id} suppresses nothing here: remove it (or move it to the line or step it is meant for)`,
        runbook,
      });
    }
  return out;
}
