import type { Problem } from './problem.js';
import { positionAt } from './source-text.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

/** Refusals made before any parser runs: they hold for JSON exactly as for YAML. */
const beforeParsing = new Set([
  'file-too-large',
  'binary-file',
  'not-utf8',
  'utf16',
  'utf32',
  'too-deep',
]);

/** Refusals of the YAML reading that JSON.parse would hide: the last duplicate key wins there. */
const keptFromYaml = new Set(['yaml-duplicate-key', 'too-deep']);

/**
 * Parse JSON strictly: JSON.parse decides the syntax, and the YAML parser (JSON is YAML 1.2)
 * refuses duplicate keys, which JSON.parse would silently resolve to the last one, and gives
 * every value a line and column. Encoding, size and nesting depth are checked first, as for YAML.
 */
export function parseJsonSource(file: string, input: string | Uint8Array): YamlSource {
  const located = parseYamlSource(file, input);
  if (located.problems.some((p) => beforeParsing.has(p.rule))) return located;
  const { text } = located;
  try {
    const value: unknown = JSON.parse(text);
    const kept = located.problems.filter((p) => keptFromYaml.has(p.rule));
    return { ...located, value: kept.length ? undefined : value, problems: kept };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    const { line, col } = at ? positionAt(text, Number(at[1])) : { line: 0, col: 0 };
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
