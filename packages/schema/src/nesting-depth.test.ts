import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCollection, parseDocument, stringify, visit } from 'yaml';
import { parseJsonSource } from './json-source.js';
import { findTooDeep } from './nesting-depth.js';
import { formatProblem } from './problem.js';
import { MAX_DEPTH, parseYamlSource } from './yaml-source.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const tooDeep = 'nesting is deeper than 64 levels: flatten the structure';

/** Line and column (1-based) where findTooDeep says depth `max + 1` starts. */
function where(text: string, max = MAX_DEPTH): string | undefined {
  const at = findTooDeep(text, max);
  if (at === undefined) return undefined;
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const n = (k: number, s: string) => s.repeat(k);

describe('the nesting depth found before parsing', () => {
  it.each([
    ['flow sequences', (k: number) => `${n(k, '[')}${n(k, ']')}\n`, '1:65'],
    ['flow mappings', (k: number) => `${n(k, '{a: ')}1${n(k, '}')}\n`, '1:257'],
    ['JSON objects', (k: number) => `${n(k, '{"a":')}1${n(k, '}')}`, '1:321'],
    [
      'flow under a block key',
      (k: number) => `a:\n  b: ${n(k - 2, '[')}${n(k - 2, ']')}\n`,
      '2:68',
    ],
    ['flow after a flow key', (k: number) => `[a]: ${n(k - 1, '[')}${n(k - 1, ']')}\n`, '1:69'],
    ['flow after a document marker', (k: number) => `--- ${n(k, '[')}${n(k, ']')}\n`, '1:69'],
    ['flow after an anchor and a tag', (k: number) => `&x !t ${n(k, '[')}${n(k, ']')}\n`, '1:71'],
    ['flow over several lines', (k: number) => `a: ${n(k - 1, '[\n  ')}${n(k - 1, ']')}\n`, '64:3'],
    [
      'single-pair mappings in flow sequences',
      (k: number) => `${n(k / 2, '[a: ')}1${n(k / 2, ']')}\n`,
      '1:129',
    ],
    ['compact block sequences', (k: number) => `${n(k, '- ')}x\n`, '1:129'],
    ['explicit keys', (k: number) => `${n(k, '? ')}x\n`, '1:129'],
    [
      'block mappings',
      (k: number) => `${Array.from({ length: k }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`,
      '65:65',
    ],
    [
      'block sequences of mappings',
      (k: number) =>
        `${Array.from({ length: k / 2 }, (_, i) => `${n(i, '    ')}- a:`).join('\n')} 1\n`,
      '33:129',
    ],
    [
      'sequences at the indent of their key',
      (k: number) =>
        `a:\n${Array.from({ length: (k - 2) / 2 }, (_, i) => `${n(i, '  ')}- b:`).join('\n')} [1]\n`,
      '33:65',
    ],
  ])('counts %s exactly', (_name, make, at) => {
    // The parser's own depth first, so that the cases measure what they claim to.
    expect([parsedDepth(make(64)), parsedDepth(make(66))]).toEqual([64, 66]);
    expect(where(make(64))).toBeUndefined();
    expect(where(make(66))).toBe(at);
  });

  it('counts brackets after a quote inside a plain word in flow', () => {
    expect(where(`a: [don't, ${n(64, '[')}${n(64, ']')}]\n`)).toBe('1:74');
  });

  it.each([
    ['brackets in quoted strings', `a: "${n(100, '[')}"\nb: '${n(100, '{')}'\n`],
    ['brackets in plain strings', `a: x${n(100, '[')}\nb: y {${n(100, '{')}\n`],
    ['brackets in comments', `a: 1 # ${n(100, '[')}\n# ${n(100, '{')}\n`],
    ['brackets in block scalars', `a: |\n  ${n(100, '[')}\n  - - - - -\nb: >-\n  ${n(100, '{')}\n`],
    [
      'brackets in multi-line quoted strings',
      `a: "x\n  ${n(100, '[')}\\"\n  ${n(100, '[')}"\nb: 'it''s\n  ${n(100, '[')}'\n`,
    ],
    ['brackets in the continuation of a plain string', `a: x\n  ${n(100, '- [')}\n`],
    ['siblings, however many', n(1000, 'a:\n  b: [[[1]]]\n- - - x\n')],
  ])('does not count %s', (_name, text) => {
    expect(where(text)).toBeUndefined();
  });

  it('agrees with the parser on values of every depth around the limit', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const nest = (depth: number): unknown => {
      if (depth === 1) return random() < 0.5 ? { k: 'v' } : ['v'];
      const inner = nest(depth - 1);
      const pick = random();
      if (pick < 0.4) return { key: inner, other: 1 };
      if (pick < 0.8) return [1, inner];
      return [{ a: inner }];
    };
    for (let i = 0; i < 60; i++) {
      const depth = 60 + (i % 10);
      const value = nest(depth);
      const actual = measure(value);
      const text = stringify(value, { flowCollectionPadding: random() < 0.5 });
      const flowText = stringify(value, { collectionStyle: 'flow' });
      for (const t of [text, flowText]) {
        expect(findTooDeep(t, actual) === undefined, t).toBe(true);
        expect(findTooDeep(t, actual - 1) === undefined, t).toBe(false);
      }
    }
  });

  it('finds nothing deeper than 64 in the repository’s runbooks and config', async () => {
    const files = [path.join(repo, 'opsbook.yaml')];
    for (const name of await readdir(path.join(repo, 'runbooks')))
      files.push(
        path.join(repo, 'runbooks', name, 'runbook.yaml'),
        path.join(repo, 'runbooks', name, 'package.json'),
      );
    for (const f of files) expect(where(await readFile(f, 'utf8')), f).toBeUndefined();
  });
});

/** Collections on the longest path of the parsed document, keys included. */
function parsedDepth(text: string): number {
  let max = 0;
  visit(parseDocument(text), {
    Node(_key, node, path) {
      const depth = path.filter(isCollection).length + (isCollection(node) ? 1 : 0);
      max = Math.max(max, depth);
    },
  });
  return max;
}

/** Collections on the longest path, the root included. */
function measure(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const inner = Object.values(v).map(measure);
  return 1 + Math.max(0, ...inner);
}

describe('hostile nesting in any file', () => {
  const deep = 100_000;
  it.each([
    ['flow sequences', `${n(deep, '[')}${n(deep, ']')}\n`, '1:65'],
    ['flow mappings', `${n(deep, '{')}${n(deep, '}')}\n`, '1:65'],
    ['compact block sequences', `${n(deep, '- ')}x\n`, '1:129'],
    ['nested compact mappings', `a: ${n(deep, 'b: ')}c\n`, '1:193'],
    ['sequences after a key', `a: ${n(deep, '- ')}x\n`, '1:130'],
    ['unclosed flow', n(deep, '['), '1:65'],
  ])('refuses %s 100,000 deep at depth 65, without a stack overflow', (_name, text, at) => {
    const source = parseYamlSource('f.yaml', text);
    expect(source.problems.map(formatProblem)).toEqual([`f.yaml:${at}: ${tooDeep}`]);
    expect(source.locate(['a'])).toEqual({
      line: Number(at.split(':')[0]),
      col: Number(at.split(':')[1]),
    });
  });

  it.each([
    ['a stray closer before the nesting', `}${n(deep, '[')}`],
    ['nesting where a plain string would go on', `a}]\n  ${n(deep, '{')}`],
    ['a mapping under a sequence item that is a string', `- b\n  c: ${n(deep, '[')}`],
    ['lines that end in a lone CR', `a:\r${n(deep, '- ')}x\r`],
    ['a comment line inside a block scalar', `a: |\n  x\n# c\n  ${n(deep, '[')}`],
    ['explicit keys inside flow', `{${n(deep, '? {')}`],
    ['block sequences inside flow, which only the syntax tree shows', `[\n${n(deep, '- ')}x\n]`],
    ['a tab before a document marker, which js-yaml reads leniently', `\t---\n${n(deep, '- ')}x\n`],
    [
      'an indentation ladder',
      Array.from({ length: 1400 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
    ],
  ])('reads %s without overflowing any parser, however often it is read', (_name, text) => {
    // An overflow deep inside a parser can abort the process on a later read, not the first.
    for (let i = 0; i < 3; i++) {
      for (const parse of [parseYamlSource, parseJsonSource]) {
        const source = parse('f', text);
        expect(source.problems.map((p) => p.message).join('\n')).not.toMatch(/call stack/);
        // Either refused, or read as something shallow (a multi-line plain string).
        if (source.problems.length === 0)
          expect(measure(source.value)).toBeLessThanOrEqual(MAX_DEPTH);
      }
    }
  });

  it('measures the syntax tree before composing it, for what the scan reads otherwise', () => {
    // The scan takes `- ` inside brackets for text; the parser's error recovery nests it. (At
    // 100,000 levels the parser itself overflows, which is caught: the case above.)
    const text = `[\n${n(2000, '- ')}x\n]`;
    expect(findTooDeep(text, MAX_DEPTH)).toBeUndefined();
    expect(parseYamlSource('f.yaml', text).problems.map(formatProblem)).toEqual([
      `f.yaml:2:127: ${tooDeep}`,
    ]);
  });

  it('refuses a JSON file 10,000 deep with the line and column of depth 65', () => {
    const text = `{\n  "name": "x",\n  "x": ${n(10_000, '[')}${n(10_000, ']')}\n}\n`;
    expect(parseJsonSource('package.json', text).problems.map(formatProblem)).toEqual([
      `package.json:3:71: ${tooDeep}`,
    ]);
  });

  it('refuses JSON nested 70 deep at depth 65', () => {
    const text = `{"a": ${n(70, '{"b": ')}1${n(70, '}')}}`;
    expect(parseJsonSource('f.json', text).problems).toMatchObject([
      { line: 1, col: 6 + 63 * 6 + 1, rule: 'too-deep' },
    ]);
  });
});
