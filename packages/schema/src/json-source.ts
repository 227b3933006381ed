import type { Problem } from './problem.js';
import { decodeSourceText, positionAt } from './source-text.js';
import { lazilyPositioned, parseYamlSource, type YamlSource } from './yaml-source.js';
import { MAX_SUBSET_DEPTH } from './yaml-subset.js';

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
  return readPlainJson(file, input) ?? parseJsonLocated(file, input);
}

/**
 * The fast path: JSON.parse alone, when the text is JSON without a duplicate key and nested no
 * deeper than the YAML subset reads (so the YAML reading could refuse nothing: it finds the same
 * duplicates, and the depth rule's limit is twice that). Positions are parsed for on first use.
 * Undefined for anything else, which the YAML reading then decides.
 */
function readPlainJson(file: string, input: string | Uint8Array): YamlSource | undefined {
  const decoded = decodeSourceText(file, input);
  if ('problem' in decoded) return undefined;
  const { text } = decoded;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  // A JSON string holds a control character only through an escape (a raw one is invalid JSON).
  const controlStrings = text.includes('\\') ? undefined : [];
  return isPlainJson(text) ? lazilyPositioned(file, text, value, controlStrings) : undefined;
}

const jsonToken = /"(?:[^"\\]|\\.)*"|[{}[\],:]/g;

/** Valid JSON `text` has no object with a key twice and no nesting deeper than the subset's limit. */
function isPlainJson(text: string): boolean {
  // The keys seen in each open object; null for an open array.
  const open: Array<Set<string> | null> = [];
  let isKey = false;
  jsonToken.lastIndex = 0;
  for (let m = jsonToken.exec(text); m; m = jsonToken.exec(text)) {
    const token = m[0];
    const c = token.charCodeAt(0);
    if (c === 0x22 /* " */) {
      if (!isKey) continue;
      const keys = open[open.length - 1]!;
      const key = token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
      if (keys.has(key)) return false;
      keys.add(key);
      isKey = false;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      open.push(c === 0x7b ? new Set() : null);
      if (open.length > MAX_SUBSET_DEPTH) return false;
      isKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      isKey = false;
    } else isKey = c === 0x2c /* , */ && open[open.length - 1] != null;
  }
  return true;
}

/**
 * The reading through YAML: duplicate keys and positions, JSON.parse for the syntax. Exported
 * for the test that holds the fast path to it; callers use parseJsonSource.
 */
export function parseJsonLocated(file: string, input: string | Uint8Array): YamlSource {
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
