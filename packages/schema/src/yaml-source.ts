import { createRequire } from 'node:module';
import type { CST, Document, LineCounter, Node } from 'yaml';
import { tryFastYaml } from './fast-yaml.js';
import { findTooDeep } from './nesting-depth.js';
import type { Problem } from './problem.js';
import { decodeSourceText, positionAt } from './source-text.js';
import { type ControlString, readYamlSubset } from './yaml-subset.js';

export { MAX_SOURCE_BYTES } from './source-text.js';

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;

/**
 * The `yaml` package, loaded on first use. Valid files go through the fast paths (the plain
 * subset, then js-yaml) and never need it; it is the strict parser that gives positions, so only
 * a file with a problem (or a construct the fast paths decline) pays its ~250 KB at start-up. A
 * plain require keeps bundlers from inlining it into every command's start.
 */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** Deeper than any opsbook format needs. */
export const MAX_DEPTH = 64;

export type PathSegment = string | number;

/** A parsed YAML (or JSON) file that remembers where every value came from. */
export interface YamlSource {
  file: string;
  /** The decoded text (no byte order mark); empty when the bytes are not UTF-8 text. */
  text: string;
  /** The plain JS value, or undefined when the file could not be parsed at all. */
  value: unknown;
  problems: Problem[];
  /** Line and column of the value (or, with `key`, of the key) at `path`; nearest ancestor if absent. */
  locate(path: readonly PathSegment[], at?: 'key' | 'value'): { line: number; col: number };
  /** Offsets in `text` of the node at `path` exactly (undefined when there is none). */
  span(
    path: readonly PathSegment[],
    at?: 'key' | 'value',
  ): { start: number; end: number } | undefined;
  /**
   * Every string and key of `value` that holds a control character, with its path, in the order
   * of the text, when the reader could tell (check-runbook-text.ts then walks no value).
   */
  controlStrings?: readonly ControlString[];
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

const FLOW_NOT_CLOSED =
  /^Flow (map|sequence) in block collection must be sufficiently indented and end with a ([}\]])/;

/**
 * Where the bracket the parser found unclosed at `offset` was opened: the last '[' or '{' outside
 * quotes on the lines before it that is not closed on its line (up to 50 lines back).
 */
function unclosedOpener(text: string, offset: number): number | undefined {
  let end = text.lastIndexOf('\n', offset - 1);
  for (let n = 0; n < 50 && end > 0; n++) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    const open: number[] = [];
    let quote = '';
    for (let i = start; i < end; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === start || /\s/.test(text[i - 1]!))) break;
      else if (c === '[' || c === '{') open.push(i);
      else if (c === ']' || c === '}') open.pop();
    }
    if (open.length) return open[open.length - 1];
    end = start - 1;
  }
  return undefined;
}

/**
 * Where the quote the parser found never closed was opened (it says so at the end of the file): a
 * quoted value that runs to the end holds no quote that would close it, so its opening quote is
 * the last one of the text that is not escaped (`\"` in "…", `''` in '…').
 */
function unclosedQuote(text: string, quote: '"' | "'"): number | undefined {
  for (let i = text.lastIndexOf(quote); i >= 0; i = text.lastIndexOf(quote, i - 1)) {
    if (quote === '"') {
      let slashes = 0;
      while (text[i - 1 - slashes] === '\\') slashes++;
      if (slashes % 2 === 0) return i;
    } else if (text[i - 1] === "'")
      i--; // '' inside '…' is a quote, not its end
    else return i;
  }
  return undefined;
}

function describeYamlError(code: string, message: string, atOpener = false): string {
  const flow = FLOW_NOT_CLOSED.exec(message);
  if (flow) {
    const open = flow[2] === '}' ? '{' : '[';
    return `${atOpener ? `this '${open}'` : `a '${open}' opened earlier`} is never closed: add the missing '${flow[2]}' (or indent the continuation)`;
  }
  // The parser says MISSING_CHAR for a misindented line under a list item as well: the '-' it
  // misses is not a bracket or a quote.
  if (/^Sequence item without - indicator/.test(message))
    return "bad indentation: this line is further in than the list item above, but has no '-' of its own: indent it like its siblings, or start a new item with '- '";
  const known = yamlErrorMessages[code];
  if (known) return known;
  // The parser's own first line is already specific; drop its ascii-art context.
  const first = message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
  return `invalid YAML: ${first}`;
}

const tooDeep = `nesting is deeper than ${MAX_DEPTH} levels: flatten the structure`;

function failedSource(file: string, text: string, p: Problem): YamlSource {
  return {
    file,
    text,
    value: undefined,
    problems: [p],
    locate: () => ({ line: p.line, col: p.col }),
    span: () => undefined,
  };
}

/**
 * Parse YAML the strict way opsbook needs: what a reviewer reads must be what runs. Refuses
 * anchors, aliases, merge keys (`<<`), explicit tags and duplicate keys, and reports every
 * problem with its line and column instead of throwing.
 */
export function parseYamlSource(file: string, input: string | Uint8Array): YamlSource {
  const decoded = decodeSourceText(file, input);
  if ('problem' in decoded) return failedSource(file, '', decoded.problem);
  const { text } = decoded;
  // The plain subset first: most files are written in it, and it reads them several times faster
  // than js-yaml, with no depth scan (it declines any text nested deeper than half the limit).
  const plain = readYamlSubset(text);
  if (plain.ok) return lazilyPositioned(file, text, plain.value, plain.controlStrings);
  // Before either parser: both recurse per level, and a deep enough file overflows the stack.
  const deep = findTooDeep(text, MAX_DEPTH);
  if (deep !== undefined) {
    const at = positionAt(text, deep);
    return failedSource(file, text, { file, ...at, rule: 'too-deep', message: tooDeep });
  }

  const fast = tryFastYaml(text, MAX_DEPTH);
  if (fast.ok) return lazilyPositioned(file, text, fast.value);
  return parseYamlStrict(file, text);
}

/**
 * A value read by a fast path. Positions are needed only to report a problem: the strict parse for
 * them runs on first use.
 */
export function lazilyPositioned(
  file: string,
  text: string,
  value: unknown,
  controlStrings?: readonly ControlString[],
): YamlSource {
  let strict: YamlSource | undefined;
  const positioned = () => {
    strict ??= parseYamlStrict(file, text);
    return strict;
  };
  return {
    file,
    text,
    value,
    problems: [],
    locate: (path, at) => positioned().locate(path, at),
    span: (path, at) => positioned().span(path, at),
    ...(controlStrings ? { controlStrings } : {}),
  };
}

/**
 * The strict, positioned parse: every refusal with its line and column. Exported for the tests
 * that hold the fast paths to it; callers use parseYamlSource.
 */
export function parseYamlStrict(file: string, text: string): YamlSource {
  const { LineCounter } = yaml();
  const lineCounter = new LineCounter();
  const pos: Pos = (offset) => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, col: lp.col };
  };
  const refuse = (p: Problem): YamlSource => failedSource(file, text, p);
  let doc: Document.Parsed;
  let problems: Problem[];
  let value: unknown;
  try {
    const parsed = parseYamlDocument(text, lineCounter);
    if (typeof parsed === 'number')
      return refuse({ file, ...pos(parsed), rule: 'too-deep', message: tooDeep });
    doc = parsed;
    problems = yamlErrorProblems(file, text, doc, pos);
    if (problems.length === 0) problems.push(...refuseIndirection(file, doc, pos));
    value = problems.length === 0 ? doc.toJS({ maxAliasCount: 0 }) : undefined;
  } catch (e) {
    // Nothing recursive runs on a tree deeper than MAX_DEPTH; this is the last line of defence.
    if (e instanceof RangeError)
      return refuse({ file, line: 0, col: 0, rule: 'too-deep', message: tooDeep });
    throw e;
  }
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
    text,
    value,
    problems,
    locate(path, at = 'value') {
      const node = findNode(doc.contents, path, at);
      return node?.range ? pos(node.range[0]) : { line: 1, col: 1 };
    },
    span(path, at = 'value') {
      const node = findNode(doc.contents, path, at, true);
      return node?.range ? { start: node.range[0], end: node.range[1] } : undefined;
    },
  };
}

/**
 * parseDocument in its two steps, with a depth check between them: the parser builds the
 * syntax tree with a stack of its own, however deep the text nests, but composing it into
 * nodes recurses per level. So the tree's depth is measured first, and a tree deeper than
 * MAX_DEPTH (which the depth scan should have refused already) is never composed: its offset
 * is returned instead. Whatever the text, no recursion goes deeper than MAX_DEPTH.
 */
function parseYamlDocument(text: string, lineCounter: LineCounter): Document.Parsed | number {
  const { Composer, Parser } = yaml();
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const deep = tooDeepInTree(tokens);
  if (deep !== undefined) return deep;
  const composer = new Composer({
    uniqueKeys: true,
    merge: false,
    version: '1.2',
    schema: 'core',
  });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(
        new (yaml().YAMLParseError)(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents',
        ),
      );
      break;
    }
  }
  return doc!;
}

const collectionTypes = new Set(['block-map', 'block-seq', 'flow-collection']);

/** Offset of the first collection of the syntax tree deeper than MAX_DEPTH; without recursion. */
function tooDeepInTree(tokens: readonly CST.Token[]): number | undefined {
  const pending: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({
    token,
    depth: 0,
  }));
  let first: number | undefined;
  const tooDeepAt = (offset: number) => {
    if (first === undefined || offset < first) first = offset;
  };
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { token } = next;
    let depth = next.depth;
    if (collectionTypes.has(token.type)) {
      depth++;
      if (depth > MAX_DEPTH) {
        tooDeepAt((token as { offset: number }).offset);
        continue;
      }
    }
    if (token.type === 'document') {
      if (token.value) pending.push({ token: token.value, depth });
      continue;
    }
    if (!('items' in token)) continue;
    const inFlowSeq = token.type === 'flow-collection' && token.start.source === '[';
    for (const item of token.items as CST.CollectionItem[]) {
      let itemDepth = depth;
      // `[a: b]`: the pair is a mapping of its own inside the sequence.
      if (inFlowSeq && item.sep?.some((t) => t.type === 'map-value-ind')) {
        itemDepth++;
        if (itemDepth > MAX_DEPTH) {
          tooDeepAt(item.key?.offset ?? token.offset);
          continue;
        }
      }
      if (item.key) pending.push({ token: item.key, depth: itemDepth });
      if (item.value) pending.push({ token: item.value, depth: itemDepth });
    }
  }
  return first;
}

function yamlErrorProblems(file: string, text: string, doc: Document.Parsed, pos: Pos): Problem[] {
  const problems: Problem[] = [];
  const linesWithError = new Set<number>();
  // After a tab used as indentation the parser has lost the file's structure: what it says of the
  // lines below is about the tab, not a problem of theirs. Later tabs are still each reported.
  const firstTab = doc.errors.find((e) => e.code === 'TAB_AS_INDENT')?.pos[0];
  for (const err of doc.errors) {
    if (firstTab !== undefined && err.pos[0] > firstTab && err.code !== 'TAB_AS_INDENT') continue;
    // One error usually sets off others on the same line; the first says what to fix.
    const { line } = pos(err.pos[0]);
    if (linesWithError.has(line)) continue;
    linesWithError.add(line);
    const overflowed = err.code === 'RESOURCE_EXHAUSTION' || /call stack/i.test(err.message);
    // The parser notices an unclosed bracket where the next line starts: shown at the bracket.
    const flow = FLOW_NOT_CLOSED.exec(err.message);
    const found = flow ? unclosedOpener(text, err.pos[0]) : undefined;
    // Only the kind of bracket the parser found unclosed ('[' for ']'): else, as it said.
    const opener =
      found !== undefined && text[found] === (flow?.[2] === '}' ? '{' : '[') ? found : undefined;
    // An unclosed quote is noticed at the end of the file: shown where it opens.
    const quote =
      err.code === 'MISSING_CHAR'
        ? /^Missing closing (["'])quote/.exec(err.message)?.[1]
        : undefined;
    const quoteAt = quote ? unclosedQuote(text, quote as '"' | "'") : undefined;
    const misaligned =
      err.code === 'BAD_INDENT' ? misalignedWithBlock(text, err.pos[0]) : undefined;
    // Each sibling after a block's misindented first line is one more complaint of the same fix.
    if (misaligned && problems.some((p) => p.message === misaligned)) continue;
    problems.push({
      file,
      ...pos(opener ?? quoteAt ?? err.pos[0]),
      rule: overflowed ? 'too-deep' : `yaml-${err.code.toLowerCase().replace(/_/g, '-')}`,
      message: overflowed
        ? tooDeep
        : quoteAt !== undefined
          ? `this ${quote} is never closed (the value runs to the end of the file): add the closing ${quote} where the value ends`
          : (colonInPlainValue(text, err.pos[0]) ??
            misaligned ??
            describeYamlError(err.code, err.message, opener !== undefined)),
    });
  }
  return problems;
}

type Pos = (offset: number) => { line: number; col: number };

/**
 * A line less indented than the block it continues: the parser complains of that line, and of
 * each sibling after it, when the line out of step is most often the block's first, further in
 * than the rest (`spec:` then `   params:` then `  targets:`). Name that first line and both
 * indents, so either can be fixed. Undefined when the block's first line is not further in.
 */
function misalignedWithBlock(text: string, offset: number): string | undefined {
  const lines = text.split('\n');
  const at = text.slice(0, offset).split('\n').length - 1;
  const indentOf = (l: string) => /^ */.exec(l)![0].length;
  const isContent = (l: string) => l.trim() !== '' && !l.trimStart().startsWith('#');
  const indent = indentOf(lines[at] ?? '');
  let first: number | undefined;
  for (let i = at - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (!isContent(l)) continue;
    if (indentOf(l) < indent) break;
    first = i;
  }
  if (first === undefined || indentOf(lines[first]!) <= indent) return undefined;
  return `bad indentation: this line is indented ${indent} space(s), but the first line of its block, line ${first + 1} ('${lines[first]!.trim().slice(0, 40)}'), is indented ${indentOf(lines[first]!)}: indent them alike, with spaces only`;
}

/**
 * `run: curl -H "Authorization: Bearer $X" …`: an unquoted value holding ": " is read as a key
 * and the start of a mapping, and the parser's complaint (a key spanning lines) hides why. When
 * the line of the error is `key: value` with a plain value holding ": ", say that, and the fix.
 */
function colonInPlainValue(text: string, offset: number): string | undefined {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', start);
  const line = text.slice(start, end < 0 ? undefined : end);
  const m = /^\s*(?:-\s+)?([^\s:#'"][^:#]*?):\s+([^\s'"|>[{&*!%@`#].*)$/.exec(line);
  const inner = m && /([^\s'"]+): /.exec(m[2]!);
  if (!m || !inner) return undefined;
  return `the value of ${m[1]} is not quoted and holds ": " (in ${JSON.stringify(`${inner[1]}: `)}), which YAML reads as the start of a mapping: quote the whole value ('…', doubling any ' inside) or write it as a | block on the lines below`;
}

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
      // The collection that is one level too deep is reported where it starts.
      const depth = path.filter(isCollection).length + (isCollection(node) ? 1 : 0);
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

/** The node at `path`; with `exact`, undefined when there is none rather than the nearest ancestor. */
function findNode(
  root: unknown,
  path: readonly PathSegment[],
  at: 'key' | 'value',
  exact = false,
): Node | undefined {
  const { isMap, isNode, isScalar, isSeq } = yaml();
  let node: unknown = root;
  let last: Node | undefined = isNode(root) ? root : undefined;
  const missing = () => (exact ? undefined : last);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return missing();
      if (isLast && at === 'key' && isNode(pair.key)) return pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return missing();
    }
    if (isNode(node)) last = node;
    else return missing();
  }
  return last;
}
