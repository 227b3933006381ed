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
  return isPlainJson(text, value) ? lazilyPositioned(file, text, value, controlStrings) : undefined;
}

/** A JSON string, escapes and all. */
const jsonString = /"(?:[^"\\]|\\.)*"/g;
/** A key, once every string is emptied: an empty string followed by its colon. */
const emptiedKey = /""\s*:/g;

/**
 * Whether valid JSON `text`, parsed to `value`, has no object with a key twice and no nesting
 * deeper than the subset's limit. JSON.parse keeps one of two equal keys, so the text then holds
 * more keys than the value. The text's keys are counted by the regular expression engine, not a
 * loop a token: each string emptied (the string pattern, run from the start, stays on string
 * boundaries: valid JSON has no quote outside a string), a key is an empty string and a colon.
 */
function isPlainJson(text: string, value: unknown): boolean {
  const keys = text.replace(jsonString, '""').match(emptiedKey)?.length ?? 0;
  return keys === keysIn(value, 1);
}

/** How many keys the objects of `value` hold; -1 when it nests deeper than MAX_SUBSET_DEPTH. */
function keysIn(value: unknown, depth: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (depth > MAX_SUBSET_DEPTH) return -1;
  const items = Array.isArray(value) ? value : Object.values(value);
  let keys = Array.isArray(value) ? 0 : items.length;
  for (let i = 0; i < items.length; i++) {
    const within = keysIn(items[i], depth + 1);
    if (within < 0) return -1;
    keys += within;
  }
  return keys;
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
    // V8 names no position when the text stops inside a value: that is at its end.
    const ended = !at && /end of JSON input/.test(message);
    const offset = at ? Number(at[1]) : ended ? text.trimEnd().length : failingOffset(text);
    const { line, col } = offset === undefined ? { line: 0, col: 0 } : positionAt(text, offset);
    const problem: Problem = {
      file,
      line,
      col,
      rule: 'bad-json',
      message: ended
        ? 'invalid JSON: the text ends inside a value: close every open string, [ and { (was the file cut short?)'
        : `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '')}`,
    };
    return { ...located, value: undefined, problems: [problem] };
  }
}

/** Whether JSON.parse refuses the text for something in it, not for stopping before its end. */
function failsWithin(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /position (\d+)/.exec(message);
    return !/end of JSON input/.test(message) && Number(at?.[1] ?? -1) < text.length;
  }
}

/**
 * Where JSON.parse stops in a text it names no position for (V8's "Unexpected token 'x', …"):
 * the last character of the shortest beginning of the text that it refuses for what it holds
 * (a beginning cut inside a value is refused only for its end). A binary search: once a beginning
 * holds an error, every longer one does.
 */
function failingOffset(text: string): number | undefined {
  let lo = 0;
  let hi = text.length;
  if (!failsWithin(text)) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (failsWithin(text.slice(0, mid))) hi = mid;
    else lo = mid;
  }
  return hi - 1;
}
