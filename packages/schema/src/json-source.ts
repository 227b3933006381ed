import type { Problem } from './problem.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

/**
 * Parse JSON strictly: JSON.parse decides the syntax, and the YAML parser (JSON is YAML 1.2)
 * refuses duplicate keys, which JSON.parse would silently resolve to the last one, and gives
 * every value a line and column.
 */
export function parseJsonSource(file: string, input: string | Uint8Array): YamlSource {
  const located = parseYamlSource(file, input);
  if (
    located.problems.some((p) => ['file-too-large', 'binary-file', 'not-utf8'].includes(p.rule))
  ) {
    return located;
  }
  // A view of the same bytes: Buffer.from(Uint8Array) would copy them first.
  const text =
    typeof input === 'string'
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    const dupes = located.problems.filter((p) => p.rule === 'yaml-duplicate-key');
    return { ...located, value: dupes.length ? undefined : value, problems: dupes };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    const { line, col } = at ? lineCol(text, Number(at[1])) : { line: 0, col: 0 };
    const problem: Problem = {
      file,
      line,
      col,
      rule: 'bad-json',
      message: `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '')}`,
    };
    return { ...located, value: undefined, problems: [problem] };
  }
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}
