import { describe, expect, it } from 'vitest';
import {
  escapeJsonControls,
  keepOnly,
  showControls,
  showControlsIn,
  showControlsOnLine,
} from './terminal-safe.js';

describe('showControls', () => {
  it('writes out C0 (but tab and newline), DEL and C1, so a terminal sees no escape sequence', () => {
    expect(showControls('\u001b]0;title\u0007\u001b[2J\r\u0000\u007f\u009b\u0085')).toBe(
      String.raw`\x1b]0;title\x07\x1b[2J\x0d\x00\x7f\x9b\x85`,
    );
  });

  it('writes out the bidirectional controls, so a terminal shows the text in the order it runs', () => {
    expect(showControls('ls \u202e;rm -rf /\u202c \u2066x\u2069')).toBe(
      String.raw`ls \u202e;rm -rf /\u202c \u2066x\u2069`,
    );
    expect(keepOnly(['\u001b[31m'])('\u001b[31m\u202e')).toBe(`\u001b[31m${String.raw`\u202e`}`);
    // The marks too (RLM, LRM, ALM): with right-to-left letters they reorder what is around them.
    expect(showControls('a\u200fb\u200ec\u061cd')).toBe(String.raw`a\u200fb\u200ec\u061cd`);
  });

  it('writes out zero-width and other format characters (Unicode Cf), so a host name cannot hide one', () => {
    expect(showControls('hosts 3: web-01\u200b, web-01, web\u00ad02')).toBe(
      String.raw`hosts 3: web-01\u200b, web-01, web\xad02`,
    );
    expect(showControls('a\u200cb\u200dc\u2060d\u2061e\u2064f\ufeffg\u180eh\u206fi')).toBe(
      String.raw`a\u200cb\u200dc\u2060d\u2061e\u2064f\ufeffg\u180eh\u206fi`,
    );
    // Tag characters (invisible, outside the BMP) are written by their code point.
    expect(showControls('x\u{e0041}\u{e007f}y')).toBe(String.raw`x\u{e0041}\u{e007f}y`);
    expect(keepOnly(['\u001b[31m'])('\u001b[31mweb\u200b')).toBe(
      `\u001b[31m${String.raw`web\u200b`}`,
    );
    expect(showControlsOnLine('web-01\u200b\n')).toBe(String.raw`web-01\u200b\x0a`);
  });

  it('leaves tab, newline and every printable character alone', () => {
    const text = 'a\tb\nc é ✓ 😀 \u00a0 \\x1b עברית';
    expect(showControls(text)).toBe(text);
  });
});

describe('showControlsOnLine', () => {
  it('writes out a line break too, so a value cannot print a line of its own', () => {
    expect(showControlsOnLine('DiskFull\nINC-7\r\nINC-8\u2028INC-9\u2029\u0085\u001b[2J')).toBe(
      String.raw`DiskFull\x0aINC-7\x0d\x0aINC-8\u2028INC-9\u2029\x85\x1b[2J`,
    );
    const text = 'a\tb c é ✓ 😀 עברית';
    expect(showControlsOnLine(text)).toBe(text);
  });
});

describe('showControlsIn', () => {
  it('makes every string of a value visible, keys included, other values kept', () => {
    expect(
      showControlsIn({ a: ['x\u001b[2J', { 'k\u0007': 'v\u009b' }], n: 1, b: true, z: null }),
    ).toEqual({
      a: [String.raw`x\x1b[2J`, { [String.raw`k\x07`]: String.raw`v\x9b` }],
      n: 1,
      b: true,
      z: null,
    });
  });

  it('keeps a __proto__ key as data', () => {
    const value = showControlsIn(JSON.parse('{"__proto__":{"polluted":"\\u001b"}}')) as object;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('keepOnly', () => {
  it('lets the given sequences through and writes out every other control character', () => {
    const filter = keepOnly(['\u001b[31m', '\u001b[39m']);
    expect(filter('\u001b[31mred\u001b[39m \u001b[32mgreen\u001b]0;t\u0007')).toBe(
      `\u001b[31mred\u001b[39m ${String.raw`\x1b[32mgreen\x1b]0;t\x07`}`,
    );
  });
});

describe('escapeJsonControls', () => {
  it('escapes DEL and C1, which JSON.stringify leaves raw, keeping the JSON equal', () => {
    const json = JSON.stringify({ s: 'a\u007fb\u009bc\u001bd' });
    const escaped = escapeJsonControls(json);
    expect(escaped).toBe(String.raw`{"s":"a\u007fb\u009bc\u001bd"}`);
    expect(JSON.parse(escaped)).toEqual(JSON.parse(json));
  });
});
