/** Offsets of a text and their 1-based lines and columns (a tab is one column, as json1 counts). */
export interface LineIndex {
  /** Line and column of `offset` (clamped into the text). */
  position(offset: number): { line: number; col: number };
  /** Offset of `line`:`col` (clamped into the text). */
  offset(line: number, col: number): number;
  /** The text of 1-based `line`, without its line break. */
  lineText(line: number): string;
  readonly lineCount: number;
}

export function lineIndex(text: string): LineIndex {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lineEnd = (i: number) => (i + 1 < starts.length ? starts[i + 1]! - 1 : text.length);
  return {
    lineCount: starts.length,
    position(offset) {
      const at = Math.max(0, Math.min(offset, text.length));
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= at) lo = mid;
        else hi = mid - 1;
      }
      return { line: lo + 1, col: at - starts[lo]! + 1 };
    },
    offset(line, col) {
      const i = Math.max(0, Math.min(line - 1, starts.length - 1));
      return Math.min(starts[i]! + Math.max(0, col - 1), lineEnd(i));
    },
    lineText(line) {
      const i = line - 1;
      if (i < 0 || i >= starts.length) return '';
      return text.slice(starts[i], lineEnd(i)).replace(/\r$/, '');
    },
  };
}
