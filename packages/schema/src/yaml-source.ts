import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import { tryFastYaml } from './fast-yaml.js';
import type { Problem } from './problem.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;

/**
 * The `yaml` package, loaded on first use. Valid files go through the js-yaml fast path and never
 * need it; it is the strict parser that gives positions, so only a file with a problem (or a
 * construct the fast path declines) pays its ~250 KB at start-up. A plain require keeps bundlers
 * from inlining it into every command's start.
 */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** Larger than any sane runbook, inventory or trust store; protects against memory blow-ups. */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** Deeper than any opsbook format needs. */
export const MAX_DEPTH = 64;

export type PathSegment = string | number;

/** A parsed YAML (or JSON) file that remembers where every value came from. */
export interface YamlSource {
  file: string;
  /** The plain JS value, or undefined when the file could not be parsed at all. */
  value: unknown;
  problems: Problem[];
  /** Line and column of the value (or, with `key`, of the key) at `path`; nearest ancestor if absent. */
  locate(path: readonly PathSegment[], at?: 'key' | 'value'): { line: number; col: number };
}

const yamlErrorMessages: Record<string, string> = {
  DUPLICATE_KEY:
    'duplicate key: each key may appear once in a mapping; remove or rename one of them',
  MULTIPLE_DOCS: "the file holds more than one YAML document ('---'); keep one document per file",
  BAD_INDENT: 'bad indentation: align this line with its siblings (spaces only, no tabs)',
  TAB_AS_INDENT: 'a tab is used for indentation: YAML indents with spaces only',
  MISSING_CHAR: 'an opening bracket or quote is never closed: add the missing character',
  UNEXPECTED_TOKEN: 'unexpected character here: check quoting and indentation',
  BLOCK_AS_IMPLICIT_KEY:
    'a key spans several lines or a value is missing its key: check indentation',
  MULTILINE_IMPLICIT_KEY: "a key spans several lines: put the key on one line, followed by ':'",
  BAD_SCALAR_START: 'a plain value cannot start with this character: quote the value',
};

function describeYamlError(code: string, message: string): string {
  const flow =
    /^Flow (map|sequence) in block collection must be sufficiently indented and end with a ([}\]])/.exec(
      message,
    );
  if (flow) {
    const open = flow[2] === '}' ? '{' : '[';
    return `a '${open}' opened earlier is never closed: add the missing '${flow[2]}' (or indent the continuation)`;
  }
  const known = yamlErrorMessages[code];
  if (known) return known;
  // The parser's own first line is already specific; drop its ascii-art context.
  const first = message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
  return `invalid YAML: ${first}`;
}

function checkBytes(file: string, bytes: Uint8Array): Problem | undefined {
  if (bytes.length > MAX_SOURCE_BYTES) {
    return {
      file,
      line: 0,
      col: 0,
      rule: 'file-too-large',
      message: `file is ${bytes.length} bytes; the limit is ${MAX_SOURCE_BYTES} bytes (1 MiB): split it or remove generated content`,
    };
  }
  if (bytes.includes(0)) {
    return {
      file,
      line: 0,
      col: 0,
      rule: 'binary-file',
      message: 'file contains NUL bytes: it is binary, not YAML text; check the path',
    };
  }
  return undefined;
}

/** One decoder for every file: `fatal` makes invalid UTF-8 throw instead of turning into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(file: string, bytes: Uint8Array): string | Problem {
  try {
    return utf8.decode(bytes);
  } catch {
    return {
      file,
      line: 0,
      col: 0,
      rule: 'not-utf8',
      message: 'file is not valid UTF-8 text: save it as UTF-8',
    };
  }
}

/**
 * Parse YAML the strict way opsbook needs: what a reviewer reads must be what runs. Refuses
 * anchors, aliases, merge keys (`<<`), explicit tags and duplicate keys, and reports every
 * problem with its line and column instead of throwing.
 */
export function parseYamlSource(file: string, input: string | Uint8Array): YamlSource {
  const failed = (p: Problem): YamlSource => ({
    file,
    value: undefined,
    problems: [p],
    locate: () => ({ line: p.line, col: p.col }),
  });

  let text: string;
  if (typeof input === 'string') {
    const bad = checkBytes(file, Buffer.from(input, 'utf8'));
    if (bad) return failed(bad);
    text = input;
  } else {
    const bad = checkBytes(file, input);
    if (bad) return failed(bad);
    const decoded = decodeUtf8(file, input);
    if (typeof decoded !== 'string') return failed(decoded);
    text = decoded;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const fast = tryFastYaml(text, MAX_DEPTH);
  if (fast.ok) {
    // Positions are needed only to report a problem; parse for them on first use.
    let strict: YamlSource | undefined;
    return {
      file,
      value: fast.value,
      problems: [],
      locate: (path, at) => {
        strict ??= parseStrict(file, text);
        return strict.locate(path, at);
      },
    };
  }
  return parseStrict(file, text);
}

/** The strict, positioned parse: every refusal with its line and column. */
function parseStrict(file: string, text: string): YamlSource {
  const problems: Problem[] = [];
  const failed = (p: Problem): YamlSource => ({
    file,
    value: undefined,
    problems: [p],
    locate: () => ({ line: p.line, col: p.col }),
  });
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter,
      uniqueKeys: true,
      merge: false,
      prettyErrors: false,
      version: '1.2',
      schema: 'core',
    });
  } catch (e) {
    if (e instanceof RangeError) {
      return failed({
        file,
        line: 0,
        col: 0,
        rule: 'too-deep',
        message: `nesting is too deep to parse; opsbook files nest at most ${MAX_DEPTH} levels`,
      });
    }
    throw e;
  }
  const pos = (offset: number) => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, col: lp.col };
  };

  const linesWithError = new Set<number>();
  for (const err of doc.errors) {
    // One error usually sets off others on the same line; the first says what to fix.
    const { line } = pos(err.pos[0]);
    if (linesWithError.has(line)) continue;
    linesWithError.add(line);
    problems.push({
      file,
      ...pos(err.pos[0]),
      rule: `yaml-${err.code.toLowerCase().replace(/_/g, '-')}`,
      message: describeYamlError(err.code, err.message),
    });
  }
  if (doc.errors.length === 0) problems.push(...refuseIndirection(file, doc, pos));

  const value = problems.length === 0 ? doc.toJS({ maxAliasCount: 0 }) : undefined;
  if (problems.length === 0 && (value === null || value === undefined)) {
    problems.push({
      file,
      line: 0,
      col: 0,
      rule: 'empty-file',
      message: 'file is empty: it must hold a YAML mapping',
    });
  }

  return {
    file,
    value,
    problems,
    locate(path, at = 'value') {
      const node = findNode(doc.contents, path, at);
      return node?.range ? pos(node.range[0]) : { line: 1, col: 1 };
    },
  };
}

type Pos = (offset: number) => { line: number; col: number };

/** Anchors, aliases, merge keys and tags make the text say something other than what it reads. */
function refuseIndirection(file: string, doc: Document.Parsed, pos: Pos): Problem[] {
  const { isAlias, isCollection, isPair, isScalar, visit } = yaml();
  const problems: Problem[] = [];
  const at = (n: Node) => pos(n.range?.[0] ?? 0);
  visit(doc, {
    Node(_key, node, path) {
      if (isAlias(node)) {
        problems.push({
          file,
          ...at(node),
          rule: 'yaml-alias',
          message: `YAML alias '*${node.source}' is not allowed: write the value out in full, so that what a reviewer reads is what runs`,
        });
        return visit.SKIP;
      }
      if (node.anchor) {
        problems.push({
          file,
          ...at(node),
          rule: 'yaml-anchor',
          message: `YAML anchor '&${node.anchor}' is not allowed: remove it and write every value out in full`,
        });
      }
      if (node.tag) {
        problems.push({
          file,
          ...at(node),
          rule: 'yaml-tag',
          message: `YAML tag '${node.tag}' is not allowed: remove it and write a plain value (quote it to make a string)`,
        });
      }
      if (
        isScalar(node) &&
        node.value === '<<' &&
        path.length > 0 &&
        isPair(path[path.length - 1])
      ) {
        const pair = path[path.length - 1];
        if (isPair(pair) && pair.key === node) {
          problems.push({
            file,
            ...at(node),
            rule: 'yaml-merge-key',
            message:
              "YAML merge key '<<' is not allowed: copy the keys into this mapping explicitly",
          });
        }
      }
      const depth = path.filter(isCollection).length;
      if (depth > MAX_DEPTH) {
        problems.push({
          file,
          ...at(node),
          rule: 'too-deep',
          message: `nesting is deeper than ${MAX_DEPTH} levels: flatten the structure`,
        });
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return problems;
}

function findNode(
  root: unknown,
  path: readonly PathSegment[],
  at: 'key' | 'value',
): Node | undefined {
  const { isMap, isNode, isScalar, isSeq } = yaml();
  let node: unknown = root;
  let last: Node | undefined = isNode(root) ? root : undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return last;
      if (isLast && at === 'key' && isNode(pair.key)) return pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return last;
    }
    if (isNode(node)) last = node;
    else return last;
  }
  return last;
}
