import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { invalidRunbooks } from '../test/invalid-runbooks.js';
import { seededRandom } from '../test/seeded-random.js';
import { hasControl } from './control-characters.js';
import { findTooDeep } from './nesting-depth.js';
import { resolvePlainScalar } from './yaml-core-scalar.js';
import { parseYamlStrict } from './yaml-source.js';
import { readYamlSubset } from './yaml-subset.js';

const repo = path.resolve(import.meta.dirname, '../../..');

/**
 * What the subset reader promises: a text it accepts is one the strict parser reads without a
 * problem, to the very same value, and one the depth rule lets through. Returns why not.
 */
function disagreement(text: string): string | undefined {
  const subset = readYamlSubset(text);
  if (!subset.ok) return undefined;
  const strict = parseYamlStrict('x.yaml', text);
  if (strict.problems.length)
    return `accepted, but the strict parser refuses it: ${strict.problems[0]?.message}`;
  if (!isDeepStrictEqual(subset.value, strict.value))
    return `accepted with another value: ${JSON.stringify(subset.value)} vs ${JSON.stringify(strict.value)}`;
  if (findTooDeep(text, 64) !== undefined) return 'accepted, but too deep';
  const controls = controlStringsOf(strict.value);
  if (!isDeepStrictEqual(subset.controlStrings, controls))
    return `control strings ${JSON.stringify(subset.controlStrings)}, but the value holds ${JSON.stringify(controls)}`;
  return undefined;
}

/** Every key and string of `value` that holds a control character, depth first, in key order. */
function controlStringsOf(
  value: unknown,
  path: Array<string | number> = [],
): Array<{ path: Array<string | number>; text: string }> {
  if (typeof value === 'string') return hasControl(value) ? [{ path, text: value }] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => [
    ...(hasControl(key) ? [{ path: [...path, 'key:', key], text: key }] : []),
    ...controlStringsOf(v, [...path, Array.isArray(value) ? Number(key) : key]),
  ]);
}

const keys = ['a', 'b', 'key-1', 'x.y', 'p/q', '_k', 'y', 'on'];
const trickyKeys = ['1', 'true', 'null', '0x1', '__proto__', '<<', '-k', '"q"', 'a b', '? a'];
const plains = [
  'x',
  'hello world',
  '1',
  '-1',
  '+1',
  '007',
  '-0',
  '0x1F',
  '0o17',
  '0b1',
  '1_000',
  '1.5',
  '.5',
  '1.',
  '1e3',
  '-2.5E-3',
  '.inf',
  '-.Inf',
  '.nan',
  '~',
  'null',
  'Null',
  'true',
  'FALSE',
  'yes',
  '2024-01-01',
  'a#b',
  'a:b',
  '-a',
  ':x',
  '?x',
  "it's",
  'say "hi"',
  'x]',
  'x}',
  'ü € 😀',
  'a, b',
  'no-break\u00a0',
  '\u00a0lead',
];
const trickyPlains = [
  'a: b',
  'a #b',
  'x:',
  '-',
  '- a',
  '? x',
  '@x',
  '%x',
  '`x',
  '!x',
  '!!str x',
  '&a x',
  '*a',
  '[x',
  '{x',
  ',x',
  '<<',
  'a  b  ',
  '#',
];
const doubleQuoted = [
  '""',
  '"x"',
  '"a b "',
  '"\\n\\t\\\\ \\" \\/"',
  '"\\x41\\u00e9\\U0001F600"',
  '"\\ud83d"',
  '"\\0\\a\\b\\e\\f\\r\\v\\N\\_\\L\\P\\ "',
  '"#"',
  '"a" # c',
  '"it\'s"',
];
const trickyDoubleQuoted = ['"\\q"', '"\\x4"', '"\\U00110000"', '"open', '"a"b', '"a"# c'];
const singleQuoted = ["''", "'x'", "'it''s'", "'a\\nb'", "'#'", "'a: b'"];
const trickySingleQuoted = ["'open", "'a''", "'a' b"];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Mostly what the subset reads, now and then something it must decline or read with care. */
function plainText(r: () => number): string {
  return r() < 0.06 ? pick(r, trickyPlains) : pick(r, plains);
}

function quotedText(r: () => number): string {
  if (r() < 0.5) return r() < 0.06 ? pick(r, trickyDoubleQuoted) : pick(r, doubleQuoted);
  return r() < 0.06 ? pick(r, trickySingleQuoted) : pick(r, singleQuoted);
}

/** `good` mostly, `bad` now and then. */
function mostly(r: () => number, good: readonly string[], bad: readonly string[]): string {
  return r() < 0.04 ? pick(r, bad) : pick(r, good);
}

function keyText(r: () => number): string {
  return r() < 0.03 ? pick(r, trickyKeys) : pick(r, keys);
}

function flowText(r: () => number, depth: number): string {
  const isSeq = r() < 0.5;
  const n = Math.floor(r() * 4);
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    const roll = r();
    const v =
      roll < 0.15 && depth < 3 ? flowText(r, depth + 1) : roll < 0.3 ? quotedText(r) : plainText(r);
    items.push(isSeq ? v : `${keyText(r)}${mostly(r, [': ', ':  '], [':', ' : '])}${v}`);
  }
  const sep = mostly(r, [', ', ',', ' , '], [', ,']);
  const trail = r() < 0.03 ? ',' : '';
  const pad = r() < 0.3 ? ' ' : '';
  return isSeq
    ? `[${pad}${items.join(sep)}${trail}${pad}]`
    : `{${pad}${items.join(sep)}${trail}${pad}}`;
}

function blockScalarText(r: () => number, indent: number): string {
  const header = mostly(r, ['|', '|-', '>', '>-', '| # c'], ['|+', '>+', '|2', '|#c', '|- x']);
  const base = indent + 1 + Math.floor(r() * 3);
  const lines: string[] = [];
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const roll = r();
    if (roll < 0.15) lines.push(' '.repeat(Math.floor(r() * (base + 1))));
    else if (roll < 0.18) lines.push(' '.repeat(base + 1 + Math.floor(r() * 2)));
    else if (roll < 0.25) lines.push(`${' '.repeat(base)}# not a comment`);
    else if (roll < 0.3) lines.push(`${' '.repeat(base + 1 + Math.floor(r() * 2))}more indented`);
    else if (roll < 0.33) lines.push(`${' '.repeat(Math.max(0, base - 1))}less indented`);
    else lines.push(`${' '.repeat(base)}${pick(r, ['echo hi', 'a: b', '- x', 'x  ', '"q"', '#'])}`);
  }
  return `${header}\n${lines.join('\n')}`;
}

function valueText(r: () => number, indent: number, depth: number): string {
  const roll = r();
  if (roll < 0.3) return ` ${plainText(r)}`;
  if (roll < 0.45) return ` ${quotedText(r)}`;
  if (roll < 0.55) return ` ${flowText(r, 1)}`;
  if (roll < 0.65) return ` ${blockScalarText(r, indent)}`;
  if (roll < 0.7 || depth > 4) return pick(r, ['', ' # c', '  ']);
  const childIndent = indent + pick(r, [0, 1, 2, 2, 2, 4]);
  return `\n${r() < 0.5 ? mappingText(r, childIndent, depth + 1) : sequenceText(r, childIndent, depth + 1)}`;
}

function mappingText(r: () => number, indent: number, depth: number): string {
  const n = 1 + Math.floor(r() * 4);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const jitter = r() < 0.02 ? pick(r, [-1, 1]) : 0;
    const pad = ' '.repeat(Math.max(0, indent + jitter));
    const sep = mostly(r, [':', ':', ':  '], [' :']);
    lines.push(`${pad}${keyText(r)}${sep}${valueText(r, indent, depth)}`);
    if (r() < 0.1) lines.push(`${' '.repeat(Math.floor(r() * 6))}${pick(r, ['# c', '', ' '])}`);
  }
  return lines.join('\n');
}

function sequenceText(r: () => number, indent: number, depth: number): string {
  const n = 1 + Math.floor(r() * 3);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const pad = ' '.repeat(indent);
    const roll = r();
    if (roll < 0.4) {
      // `- key: value` and more keys at the key's column.
      const gap = pick(r, [' ', ' ', '  ']);
      const inner = mappingText(r, indent + 1 + gap.length, depth + 1).trimStart();
      lines.push(`${pad}-${gap}${inner}`);
    } else if (roll < 0.42) lines.push(`${pad}- - x`);
    else lines.push(`${pad}-${valueText(r, indent, depth)}`);
  }
  return lines.join('\n');
}

/** One edit of a real runbook: a character YAML cares about inserted, deleted or changed. */
function mutate(r: () => number, text: string): string {
  const at = Math.floor(r() * text.length);
  const ch = pick(r, [...' :-#\'"|>[]{},\n&*!?%@`\\~'].concat(['  ', '\n  ', '- ']));
  const roll = r();
  if (roll < 0.4) return text.slice(0, at) + ch + text.slice(at);
  if (roll < 0.7) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + ch + text.slice(at + 1);
}

async function repositoryRunbooks(): Promise<Array<[string, string]>> {
  const names = (await readdir(path.join(repo, 'runbooks'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  return Promise.all(
    names.map(
      async (name): Promise<[string, string]> => [
        name,
        await readFile(path.join(repo, 'runbooks', name, 'runbook.yaml'), 'utf8'),
      ],
    ),
  );
}

describe('the plain YAML subset reader', () => {
  it('reads every runbook of the repository, to exactly the strict value', async () => {
    const runbooks = await repositoryRunbooks();
    expect(runbooks.length).toBeGreaterThan(0);
    for (const [name, text] of runbooks) {
      expect(readYamlSubset(text).ok, name).toBe(true);
      expect(disagreement(text), name).toBeUndefined();
    }
  });

  it('declines every text of the bad-input corpus that the strict parser refuses', () => {
    for (const c of invalidRunbooks) {
      if (typeof c.yaml !== 'string') continue;
      const strict = parseYamlStrict('x.yaml', c.yaml);
      if (strict.problems.length) expect(readYamlSubset(c.yaml).ok, c.name).toBe(false);
    }
  });

  it('agrees with the strict parser on 20,000 generated texts', () => {
    const r = seededRandom(20261203);
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const text = `${mappingText(r, 0, 0)}${r() < 0.8 ? '\n' : ''}`;
      const why = disagreement(text);
      if (why) expect.fail(`text #${i}:\n${text}\n---\n${why}`);
      if (readYamlSubset(text).ok) accepted++;
    }
    // Most generated texts are plain enough to be read: the comparison is not vacuous.
    expect(accepted).toBeGreaterThan(5000);
  });

  it('agrees with the strict parser on 2,000 one-character edits of the repository runbooks', async () => {
    const runbooks = await repositoryRunbooks();
    const r = seededRandom(42);
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const [name, text] = pick(r, runbooks);
      const edited = mutate(r, text);
      const why = disagreement(edited);
      if (why) expect.fail(`edit #${i} of ${name}:\n${edited}\n---\n${why}`);
      if (readYamlSubset(edited).ok) accepted++;
    }
    expect(accepted).toBeGreaterThan(500);
  });

  it.each([
    ['an explicit tag', 'a: !!str 1\n'],
    ['a custom tag', 'a: !include x\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a merge key', 'a: {<<: {b: 1}}\n'],
    ['a merge key in a block', '<<: {b: 1}\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a duplicate key in a flow mapping', 'a: {b: 1, b: 2}\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['a document start', '---\na: 1\n'],
    ['a bare scalar', 'just text\n'],
    ['a sequence at the root', '- a\n'],
    ['nothing', '# only a comment\n'],
    ['a tab', 'a:\tb\n'],
    ['a carriage return', 'a: b\r\n'],
    ['a multi-line plain scalar', 'a: b\n  c\n'],
    ['a multi-line quoted scalar', 'a: "b\n  c"\n'],
    ['a multi-line flow collection', 'a: [b,\n  c]\n'],
    ['keep chomping', 'a: |+\n  x\n\n'],
    ['an indentation indicator', 'a: |2\n   x\n'],
    ['a __proto__ key', '__proto__: {a: 1}\n'],
    ['a key that is not a string', '1: a\n'],
    ['nesting deeper than the subset reads', `a: ${'['.repeat(40)}${']'.repeat(40)}\n`],
  ])('declines %s', (_name, text) => {
    expect(readYamlSubset(text).ok).toBe(false);
  });

  it('reads YAML 1.2 core values as the strict parser does', () => {
    const text = 'a: [1, x, true, null, 1.5, ~, 0x1F, 0o17, 2024-01-01, "q", yes, .inf, 1e3]\n';
    expect(readYamlSubset(text)).toEqual({
      ok: true,
      value: {
        a: [1, 'x', true, null, 1.5, null, 31, 15, '2024-01-01', 'q', 'yes', Infinity, 1000],
      },
      controlStrings: [],
    });
    expect(disagreement(text)).toBeUndefined();
    expect(resolvePlainScalar('-0')).toBe(-0);
    expect(resolvePlainScalar('.NaN')).toBeNaN();
  });

  it('reads literal and folded block scalars as the strict parser does', () => {
    const text = [
      'a: |',
      '  one',
      '',
      '  two',
      'b: >-',
      '  folded',
      '  line',
      '',
      '',
      '  next',
      'c:',
      '  - |',
      '',
      '    after a blank',
      '  - d: >',
      '      x',
      '    e: 1',
      '',
    ].join('\n');
    expect(readYamlSubset(text)).toEqual({
      ok: true,
      value: {
        a: 'one\n\ntwo\n',
        b: 'folded line\n\nnext',
        c: ['\nafter a blank\n', { d: 'x\n', e: 1 }],
      },
      // The strings that hold a control character, where they are: what the text check visits.
      controlStrings: [
        { path: ['a'], text: 'one\n\ntwo\n' },
        { path: ['b'], text: 'folded line\n\nnext' },
        { path: ['c', 0], text: '\nafter a blank\n' },
        { path: ['c', 1, 'd'], text: 'x\n' },
      ],
    });
    expect(disagreement(text)).toBeUndefined();
  });
});
