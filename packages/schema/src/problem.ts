/** One thing wrong with a file, where it is, and what to do about it. */
export interface Problem {
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  /** 1-based; 0 when the problem is about the file as a whole. */
  col: number;
  message: string;
  /** A stable identifier for tests and tools, e.g. `unknown-key`, `yaml-alias`. */
  rule: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return `${where}: ${p.message}`;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col,
  );
}
