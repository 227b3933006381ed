import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { evalPythonLiteral } from '../src/python-literal.js';
import { shlexSplit } from '../src/shlex-split.js';

/** The real peer for Ansible's INI value rules: the python3 that Ansible itself runs on. */
const run = promisify(execFile);

const script = `
import ast, json, shlex, sys
out = []
for s in json.load(sys.stdin):
    try: words = shlex.split(s, comments=True)
    except ValueError: words = None
    try:
        v = ast.literal_eval(s)
        v = json.loads(json.dumps(v)) if not isinstance(v, (set, complex, bytes)) else '<unsupported>'
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError): v = s
    out.append({'words': words, 'value': v})
print(json.dumps(out))
`;

const samples = [
  'web-01 a=1 b="two words" c=\'x y\'',
  'a=b#c d=e',
  'x="a\\"b" y=\'a\\b\' z=a\\ b',
  'x="\\$HOME"',
  'unclosed="a',
  '""',
  "''",
  'a="" b',
  '#only comment',
  'tab\tsep=1',
  '22',
  '-3',
  '+4',
  '0x1F',
  '0o17',
  '0b101',
  '1_000',
  '1.5',
  '.5',
  '5.',
  '1e3',
  '1.10',
  '010',
  '00',
  'True',
  'False',
  'None',
  'true',
  'yes',
  "'quoted'",
  '"dq"',
  '\'a\' "b"',
  "r'\\n'",
  "'\\t\\x41\\u00e9\\101'",
  '[1, 2]',
  '[1, 2,]',
  '(1)',
  '(1,)',
  '(1, 2)',
  '1, 2',
  '{}',
  "{'a': [1, {'b': None}]}",
  "{'a': 1,}",
  '[',
  '[1 2]',
  'v # comment',
  '5 # five',
  'hello world',
  '10.0.0.1',
  '0',
  '007',
  '8080',
  '999999999999999',
  '1234567890123456',
  '1.2.3',
  '1.2.3.',
  '1..2.3',
  '1.2.3e5',
  '255.255.255.0 ',
  '/var/log',
  '~/.ssh/id',
  '--1',
  '-x',
  '1abc',
];

/**
 * Generated texts around the shortcuts taken for plain values and plain host lines (the common
 * case of a big inventory): first characters that may or may not start a literal, names near
 * True/False/None and the string prefixes, blanks, quotes, escapes, comments, sets. No line
 * breaks: the INI reader splits lines on all of them (\r \n \v \f …) before any value is read.
 */
function generatedSamples(count: number): string[] {
  const pieces = [
    'a',
    'T',
    'True',
    'False',
    'None',
    'Nonex',
    'r',
    'b',
    'u',
    'rb',
    'Br',
    'U',
    '_',
    'é',
    '/',
    '~',
    ':',
    '@',
    '$',
    '.',
    '0',
    '7',
    '-',
    '+',
    '[',
    ']',
    '(',
    ')',
    '{',
    '}',
    ',',
    "'",
    '"',
    '\\',
    '#',
    ' ',
    '  ',
    '\t',
    '=',
    'x=1',
    'host-01',
    '10.0.0.1',
    '1',
    '23',
    '.4',
    '90',
  ];
  let seed = 20261203;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 6) }, () => pieces[next() % pieces.length]).join(''),
  );
}

describe('python3 agrees on INI value rules', () => {
  it('splits and evaluates every sample as shlex.split and ast.literal_eval do', async () => {
    const all = [...samples, ...generatedSamples(3000)];
    const child = run('python3', ['-c', script], { maxBuffer: 16 * 1024 * 1024 });
    child.child.stdin!.end(JSON.stringify(all));
    const theirs = JSON.parse((await child).stdout) as { words: string[] | null; value: unknown }[];
    expect(theirs).toHaveLength(all.length);
    all.forEach((s, i) => {
      let words: string[] | null;
      try {
        words = shlexSplit(s);
      } catch {
        words = null;
      }
      const lit = evalPythonLiteral(s);
      const value = lit.kind === 'value' ? lit.value : lit.kind === 'text' ? s : '<unsupported>';
      expect({ sample: s, words, value }).toEqual({ sample: s, ...theirs[i] });
    });
  });
});
