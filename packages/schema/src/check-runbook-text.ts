import {
  controlRisk,
  describeControl,
  findEscape,
  findRawControls,
  forbiddenControl,
  hasControl,
} from './control-characters.js';
import type { Problem } from './problem.js';
import { phases } from './runbook-schema.js';
import { displayPath } from './schema-problems.js';
import { decodeSourceText, positionAt } from './source-text.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

/**
 * Which strings of a file may hold tabs and line breaks; every other string, and every key, is
 * one line of text. No string may hold any other control character.
 */
export interface TextRules {
  mayBreakLines(path: readonly PathSegment[]): boolean;
  /** Where line breaks belong, for the message; empty when the file has no such place to name. */
  lineBreakHint: string;
}

const stepPhases: ReadonlySet<PathSegment> = new Set(phases);

/** runbook.yaml: commands, descriptions, script arguments, action inputs and param values. */
export const runbookTextRules: TextRules = {
  mayBreakLines(path) {
    const [a, b, c, d] = path;
    if (a === 'metadata') return b === 'description' && path.length === 2;
    if (a !== 'spec') return false;
    if (b === 'params') {
      return (
        (path.length === 4 && (d === 'description' || d === 'default')) ||
        (path.length === 5 && d === 'enum')
      );
    }
    if (!stepPhases.has(b!) || typeof c !== 'number') return false;
    return (
      (path.length === 4 && d === 'run') ||
      (path.length === 5 && d === 'args') ||
      (path.length >= 5 && d === 'with')
    );
  },
  lineBreakHint: ' (only run:, description:, args:, with: and param values may span lines)',
};

/** A runbook's package.json: only its description. */
export const packageTextRules: TextRules = {
  mayBreakLines: (path) => path.length === 1 && path[0] === 'description',
  lineBreakHint: '',
};

/**
 * Control characters in a runbook file (what a reviewer reads must be what runs):
 * first those in the text itself, comments included, then those that escapes put into strings
 * and keys, and tabs and line breaks in strings meant to be one line. Each problem is at the
 * character, or the escape that stands for it.
 */
export function checkRunbookText(source: YamlSource, rules: TextRules): Problem[] {
  const raw = findRawControls(source.text).map((offset) => rawProblem(source, offset));
  if (raw.length || source.value === undefined) return raw;
  const problems: Problem[] = [];
  const visit = (path: readonly PathSegment[], text: string, isKey: boolean) => {
    const code = forbiddenControl(text, !isKey && rules.mayBreakLines(path));
    if (code !== undefined) problems.push(stringProblem(source, rules, [...path], isKey, code));
  };
  // The reader's list of the strings that hold one, when it kept it: the same visits, in the
  // same order, as the walk of the whole value.
  const known = source.controlStrings;
  if (known) for (let i = 0; i < known.length; i++) visit(known[i]!.path, known[i]!.text, false);
  else walkStrings(source.value, [], visit);
  return problems;
}

/**
 * A `script:` file, which the senior reads as the runbook: UTF-8 text of at most 1 MiB without a
 * NUL byte, and without the control characters runbook.yaml may not hold as they are (the first
 * one is reported, at its line and column). Undefined when it is fine.
 */
export function checkScriptText(file: string, bytes: Uint8Array): Problem | undefined {
  const decoded = decodeSourceText(file, bytes);
  if ('problem' in decoded) return decoded.problem;
  const [first] = findRawControls(decoded.text);
  return first === undefined ? undefined : rawProblem({ file, text: decoded.text }, first);
}

function rawProblem(source: Pick<YamlSource, 'file' | 'text'>, offset: number): Problem {
  const code = source.text.charCodeAt(offset);
  return {
    file: source.file,
    ...positionAt(source.text, offset),
    rule: 'control-character',
    message:
      code === 0x0d
        ? 'a carriage return (U+000D) that does not end a line: a terminal goes back to the line start and draws over the text before it; delete it, or end lines with LF or CRLF'
        : `control character ${describeControl(code)} in the file: ${controlRisk(code)}; delete it`,
  };
}

function stringProblem(
  source: YamlSource,
  rules: TextRules,
  path: PathSegment[],
  isKey: boolean,
  firstCode: number,
): Problem {
  const at = isKey ? 'key' : 'value';
  const span = source.span(path, at);
  const breaks = !isKey && rules.mayBreakLines(path);
  const isForbidden = (code: number) =>
    forbiddenControl(String.fromCharCode(code), breaks) !== undefined;
  let offset = span?.start;
  let code = firstCode;
  let written: string | undefined;
  if (span) {
    const escaped = findEscape(source.text, span.start, span.end, isForbidden);
    // A tab is kept as it is written; a line break in the text may be folded into a space.
    const tab = source.text.slice(span.start, span.end).indexOf('\t');
    if (tab >= 0 && isForbidden(0x09) && (!escaped || span.start + tab < escaped.offset)) {
      offset = span.start + tab;
      code = 0x09;
    } else if (escaped) {
      offset = escaped.offset;
      code = escaped.code;
      written = escaped.written;
    }
  }
  const where = isKey ? `a key in ${displayPath(path.slice(0, -1))}` : displayPath(path);
  const how = written ? `, written as '${written}'` : '';
  const message =
    code === 0x0a
      ? `${where} holds a line break${how}: write it on one line${rules.lineBreakHint}`
      : code === 0x09
        ? `${where} holds a tab${how}: use spaces (tabs belong only where line breaks may be)`
        : `${where} holds control character ${describeControl(code)}${how}: ${controlRisk(code)}; remove it`;
  const pos = offset === undefined ? source.locate(path, at) : positionAt(source.text, offset);
  return { file: source.file, ...pos, rule: 'control-character', message };
}

/**
 * Calls `visit` with every key and string of a parsed file (at most 64 levels deep) that holds a
 * control character: most hold none, and the policy is asked only for the rest. `path` is one
 * array, changed as the walk goes: copy it to keep it. It runs cold, on every string of every
 * runbook: index loops, strings tested where they are found, and the path grown only to visit
 * one or to go down into a collection.
 */
function walkStrings(
  value: unknown,
  path: PathSegment[],
  visit: (path: readonly PathSegment[], text: string, isKey: boolean) => void,
): void {
  if (typeof value === 'string') {
    if (hasControl(value)) visit(path, value, false);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walkEntry(value[i], i, path, visit);
  } else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (hasControl(key)) {
        path.push(key);
        visit(path, key, true);
        path.pop();
      }
      walkEntry((value as Record<string, unknown>)[key], key, path, visit);
    }
  }
}

/** One entry of a collection, at `at` in it. */
function walkEntry(
  value: unknown,
  at: PathSegment,
  path: PathSegment[],
  visit: (path: readonly PathSegment[], text: string, isKey: boolean) => void,
): void {
  if (typeof value === 'string' ? !hasControl(value) : value === null || typeof value !== 'object')
    return;
  path.push(at);
  walkStrings(value, path, visit);
  path.pop();
}
