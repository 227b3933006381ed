import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invalidRunbooks } from '../test/invalid-runbooks.js';
import { tryFastYaml } from './fast-yaml.js';
import { parseYamlSource } from './yaml-source.js';

/** The strict path alone, for comparison: a text the fast path declines gives the same result. */
const repo = path.resolve(import.meta.dirname, '../../..');

describe('the fast YAML path', () => {
  it('gives exactly the strict value for every runbook of the repository', async () => {
    const names = await readdir(path.join(repo, 'runbooks'));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const text = await readFile(path.join(repo, 'runbooks', name, 'runbook.yaml'), 'utf8');
      const fast = tryFastYaml(text, 64);
      expect(fast.ok, name).toBe(true);
      // A text with a trailing comment line defeats the fast path nowhere, but goes to the strict
      // parser through locate(): the values must agree.
      const source = parseYamlSource(`${name}.yaml`, `${text}\n# strict\n`);
      expect(fast.ok && fast.value).toEqual(source.value);
    }
  });

  it('declines every text that the strict rules refuse', () => {
    for (const c of invalidRunbooks) {
      if (typeof c.yaml !== 'string') continue;
      const strict = parseYamlSource('x.yaml', c.yaml);
      // Size, NUL bytes and encoding are checked before either parser runs.
      const beforeParsing = strict.problems.some((p) =>
        ['file-too-large', 'binary-file', 'not-utf8'].includes(p.rule),
      );
      if (strict.problems.length && !beforeParsing)
        expect(tryFastYaml(c.yaml, 64).ok, c.name).toBe(false);
    }
  });

  it.each([
    ['an explicit core tag', 'a: !!str 1\n'],
    ['an explicit int tag', 'a: !!int 1\n'],
    ['a custom tag', 'a: !include x\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['an anchor alone', 'a: &x 1\n'],
    ['a merge key', 'a: {<<: {b: 1}}\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['a bare scalar', 'just text\n'],
    ['nothing', '# only a comment\n'],
    ['deep nesting', `${'['.repeat(70)}${']'.repeat(70)}\n`],
  ])('declines %s', (_name, text) => {
    expect(tryFastYaml(text, 64).ok).toBe(false);
  });

  it('reads YAML 1.2 core values as the strict parser does', () => {
    const text = 'a: [1, x, true, null, 1.5, ~, 0x1F, 2024-01-01, "q", yes]\n';
    const fast = tryFastYaml(text, 64);
    expect(fast).toEqual({
      ok: true,
      value: { a: [1, 'x', true, null, 1.5, null, 31, '2024-01-01', 'q', 'yes'] },
    });
    expect(parseYamlSource('x.yaml', `${text}#\n`).value).toEqual(fast.ok && fast.value);
  });
});
