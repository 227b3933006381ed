/**
 * Where each character of a YAML string value is in the file's text, so that a ShellCheck
 * finding in a `run:` block lands on the runbook.yaml line and column the author sees. The
 * value and its source are walked side by side: equal characters pair up; the source's
 * indentation and line breaks that folding turned into a space (or dropped), the block header
 * (`|`, `>-`), the quotes and escapes (`''`, `\"`, `\x41`) are what differ. Works for plain,
 * quoted, literal and folded scalars.
 */
export function scalarOffsets(
  source: string,
  span: { start: number; end: number },
  value: string,
): (valueOffset: number) => number {
  const style = source[span.start];
  const isBlock = style === '|' || style === '>';
  const isDouble = style === '"';
  const isSingle = style === "'";
  let s = span.start;
  if (isBlock) {
    const nl = source.indexOf('\n', s);
    s = nl < 0 ? span.end : nl + 1;
  } else if (isDouble || isSingle) s++;
  const end = Math.min(span.end, source.length);
  const map = new Int32Array(value.length + 1);
  let v = 0;
  while (v < value.length) {
    if (s >= end) {
      map[v++] = Math.max(span.start, end - 1);
      continue;
    }
    const sc = source[s]!;
    const vc = value[v]!;
    if (isDouble && sc === '\\') {
      // An escaped line break stands for nothing in the value.
      if (!/[\r\n]/.test(source[s + 1] ?? '')) map[v++] = s;
      s += escapeLength(source, s);
    } else if (isSingle && sc === "'" && source[s + 1] === "'" && vc === "'") {
      map[v++] = s;
      s += 2;
    } else if (sc === vc) map[v++] = s++;
    else if (/\s/.test(sc)) s++;
    else if (/\s/.test(vc)) map[v++] = s;
    else s++;
  }
  map[value.length] = Math.min(s, end);
  return (offset) => map[Math.max(0, Math.min(offset, value.length))]!;
}

/** Characters a double-quoted escape takes in the source (a line-break escape: up to the text). */
function escapeLength(source: string, at: number): number {
  const next = source[at + 1];
  if (next === 'x') return 4;
  if (next === 'u') return 6;
  if (next === 'U') return 10;
  if (next === '\n' || next === '\r') {
    let j = at + 1;
    while (j < source.length && /\s/.test(source[j]!)) j++;
    return j - at;
  }
  return 2;
}
