import type { Phase } from '@opsbook/schema';
import type { LintSeverity } from './lint-rules.js';

/** Where in a file: 1-based lines and columns (a tab is one column), the end inclusive. */
export interface SourceRange {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

/** One thing lint found, located in the file the author edits (runbook.yaml or a script). */
export interface LintFinding extends SourceRange {
  /** opsbook's rule id (`secret-in-command`) or ShellCheck's code (`SC2086`). */
  rule: string;
  source: 'opsbook' | 'shellcheck';
  severity: LintSeverity;
  /** The file as shown to the user (relative to the working folder, like validate's). */
  file: string;
  message: string;
  /** The runbook's name. */
  runbook: string;
  /** The step the finding is about, when it is about one. */
  step?: { phase: Phase; id: string };
  /** Set when an `# opsbook-lint disable=` directive covers the finding. */
  suppressed?: { reason: string; file: string; line: number };
}

const severityOrder: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/** File, then position, then the worse severity first. */
export function compareFindings(a: LintFinding, b: LintFinding): number {
  return (
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    a.line - b.line ||
    a.col - b.col ||
    severityOrder[a.severity] - severityOrder[b.severity] ||
    (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)
  );
}
