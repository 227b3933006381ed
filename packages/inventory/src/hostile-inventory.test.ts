import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatProblem, ValidationError } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory, parseInventoryText } from './inventory-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-inventory-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function refusalOf(name: string, content: string | Uint8Array): Promise<string[]> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  try {
    await loadInventory(file);
  } catch (e) {
    if (e instanceof ValidationError)
      return e.problems.map(formatProblem).map((m) => m.replace(`${dir}/`, ''));
    throw e;
  }
  throw new Error(`${name} was accepted`);
}

describe('inventories that are not UTF-8 text', () => {
  it('refuses a UTF-16 inventory at 1:1, saying to save it as UTF-8', async () => {
    const text = '[web]\nweb-01\n';
    expect(
      await refusalOf('utf16.ini', new Uint8Array([0xff, 0xfe, ...Buffer.from(text, 'utf16le')])),
    ).toEqual([
      'utf16.ini:1:1: the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8',
    ]);
  });

  it('gives the line and column of the first byte that is not UTF-8', async () => {
    expect(
      await refusalOf(
        'latin1.ini',
        new Uint8Array([...Buffer.from('[web]\nweb-01 motd=caf'), 0xe9, 0x0a]),
      ),
    ).toEqual([
      'latin1.ini:2:16: byte 0xE9 is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8',
    ]);
  });

  it('gives the line and column of a NUL byte', async () => {
    expect(await refusalOf('nul.yaml', 'all:\n  hosts:\n    web-01\u0000: {}\n')).toEqual([
      'nul.yaml:3:11: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ]);
  });
});

describe('deeply nested inventories', () => {
  const deep = 100_000;

  it('refuses a YAML inventory nested 100,000 deep where depth 65 starts', async () => {
    const text = `all:\n  vars:\n    x: ${'['.repeat(deep)}${']'.repeat(deep)}\n`;
    expect(await refusalOf('deep.yaml', text)).toEqual([
      'deep.yaml:3:69: nesting is deeper than 64 levels: flatten the structure',
    ]);
  });

  it('refuses an INI value nested deeper than 64 levels, without a stack overflow', () => {
    const text = `[all:vars]\nx=${'['.repeat(deep)}${']'.repeat(deep)}\n`;
    expect(() => parseInventoryText('h.ini', text, 'ini')).toThrow(
      /^h\.ini:2:1: value '\[{60}…' is not supported: it nests deeper than 64 levels \(flatten it\); quote it to keep it as text$/,
    );
  });

  it('reads an INI value nested 64 levels deep', () => {
    const text = `[all:vars]\nx=${'['.repeat(64)}1${']'.repeat(64)}\n`;
    const inv = parseInventoryText('h.ini', text, 'ini');
    let v: unknown = inv.groups.find((g) => g.name === 'all')?.vars.x;
    let depth = 0;
    while (Array.isArray(v)) {
      v = v[0];
      depth++;
    }
    expect([depth, v]).toEqual([64, 1]);
  });
});

describe('host names a reviewer could misread', () => {
  it('refuses a YAML host name holding an invisible character or a look-alike letter, at its file:line:col', async () => {
    const text = 'all:\n  hosts:\n    web-01: {}\n    web-01\u200b: {}\n    w\u0435b-02: {}\n';
    expect(await refusalOf('lookalike.yaml', text)).toEqual([
      expect.stringMatching(
        /^lookalike\.yaml:4:5: host name 'web-01\\u200b' holds U\+200B, which is not plain ASCII: .*ansible_host/,
      ),
      expect.stringMatching(
        /^lookalike\.yaml:5:5: host name 'w\\u0435b-02' holds U\+0435, which is not plain ASCII: /,
      ),
    ]);
  });

  it('refuses an INI host name holding a zero-width or format character, and a soft hyphen', async () => {
    const text = '[web]\nweb-01\nweb-01\u2060 ansible_host=10.0.0.9\nweb\u00ad03\n';
    expect(await refusalOf('lookalike.ini', text)).toEqual([
      expect.stringMatching(/^lookalike\.ini:3:1: host name 'web-01\\u2060' holds U\+2060, /),
      expect.stringMatching(/^lookalike\.ini:4:1: host name 'web\\u00ad03' holds U\+00AD, /),
    ]);
  });

  it('still reads ASCII names, aliases, ranges and addresses', async () => {
    const file = path.join(dir, 'plain.ini');
    await writeFile(file, '[web]\nweb-[01:02].example.com\ndb_1:2222\n10.0.0.1\n[::1]:22\n');
    const inv = await loadInventory(file);
    expect(inv.hosts.map((h) => h.name)).toEqual([
      'web-01.example.com',
      'web-02.example.com',
      'db_1',
      '10.0.0.1',
      '::1',
    ]);
  });
});
