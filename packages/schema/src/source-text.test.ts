import { describe, expect, it } from 'vitest';
import { parseJsonSource } from './json-source.js';
import { formatProblem } from './problem.js';
import { decodeSourceText } from './source-text.js';
import { parseYamlSource } from './yaml-source.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))),
  );

function refusal(input: Uint8Array | string): string {
  const decoded = decodeSourceText('f.yaml', input);
  if (!('problem' in decoded)) throw new Error('expected a refusal');
  return formatProblem(decoded.problem);
}

describe('decoding a source file', () => {
  it('gives the line and column of the first byte that is not UTF-8', () => {
    expect(refusal(bytes('a: 1\nkind: R', [0xe9], '\n'))).toBe(
      'f.yaml:2:8: byte 0xE9 is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8',
    );
  });

  it('counts the column in characters, not bytes', () => {
    expect(refusal(bytes('title: Dé€😀', [0xc3, 0x28]))).toMatch(/^f\.yaml:1:13: byte 0xC3 /);
  });

  it.each([
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a truncated sequence at the end', [0xe2, 0x82]],
    ['a stray continuation byte', [0x80]],
  ])('refuses %s at its first byte', (_name, bad) => {
    expect(refusal(bytes('ok: 1\nx: ', bad))).toMatch(/^f\.yaml:2:4: byte 0x[0-9A-F]{2} /);
  });

  it('gives the line and column of the first NUL byte', () => {
    expect(refusal(bytes('a: 1\nb: x', [0], 'y\n'))).toBe(
      'f.yaml:2:5: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    );
    expect(refusal('a: 1\nb: x\u0000y\n')).toMatch(/^f\.yaml:2:5: NUL byte/);
  });

  it('reports whichever comes first, a NUL byte or a byte that is not UTF-8', () => {
    expect(refusal(bytes('a', [0xff], 'b', [0]))).toMatch(/^f\.yaml:1:2: byte 0xFF /);
    expect(refusal(bytes('a', [0], 'b', [0xff]))).toMatch(/^f\.yaml:1:2: NUL byte/);
  });

  it.each([
    ['UTF-16 little-endian', [0xff, 0xfe], 'utf16le', 'UTF-16'],
    ['UTF-16 big-endian', [0xfe, 0xff], 'utf16be', 'UTF-16'],
    ['UTF-32 little-endian', [0xff, 0xfe, 0, 0], 'utf32le', 'UTF-32'],
  ] as const)(
    'says a file with a %s byte order mark is not UTF-8, at 1:1',
    (_n, bom, enc, name) => {
      const text = 'apiVersion: opsbook/v1\n';
      const body =
        enc === 'utf16le'
          ? Buffer.from(text, 'utf16le')
          : enc === 'utf16be'
            ? Buffer.from(text, 'utf16le').swap16()
            : Buffer.from([...text].flatMap((c) => [c.charCodeAt(0), 0, 0, 0]));
      expect(refusal(bytes(bom as unknown as number[], [...body]))).toBe(
        `f.yaml:1:1: the file is ${name} text (it starts with a ${name} byte order mark): save it as UTF-8`,
      );
    },
  );

  it('refuses UTF-16 without a byte order mark at its first NUL byte', () => {
    expect(refusal(Buffer.from('apiVersion: opsbook/v1\n', 'utf16le'))).toMatch(
      /^f\.yaml:1:2: NUL byte: .* binary or UTF-16/,
    );
  });

  it('drops a UTF-8 byte order mark and keeps every other character', () => {
    expect(decodeSourceText('f.yaml', bytes([0xef, 0xbb, 0xbf], 'a: é\n'))).toEqual({
      text: 'a: é\n',
    });
  });

  it('refuses a file over 1 MiB as a whole, before looking at its bytes', () => {
    expect(refusal(new Uint8Array(1024 * 1024 + 1))).toBe(
      'f.yaml: file is 1048577 bytes; the limit is 1048576 bytes (1 MiB): split it or remove generated content',
    );
  });

  it('gives YAML and JSON files the same positions', () => {
    const bad = bytes('{\n  "a": "x', [0xff], '"\n}\n');
    expect(parseYamlSource('f.yaml', bad).problems.map(formatProblem)).toEqual([
      'f.yaml:2:10: byte 0xFF is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8',
    ]);
    expect(parseJsonSource('f.json', bad).problems.map(formatProblem)).toEqual([
      'f.json:2:10: byte 0xFF is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8',
    ]);
    expect(
      parseJsonSource('f.json', bytes([0xff, 0xfe], [...Buffer.from('{}', 'utf16le')])).problems,
    ).toMatchObject([{ line: 1, col: 1, rule: 'utf16' }]);
  });
});
