import { readFile } from 'node:fs/promises';
import { loadRunbook } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { generateActionSpecModules } from './action-spec-codegen.js';
import { builtinActionSpecs } from './action-specs.js';
import { builtinActions } from './actions.js';

describe('builtinActionSpecs (what validate loads instead of the actions)', () => {
  it('are generated from the live registry (run `pnpm gen` in packages/runner after changing an action)', async () => {
    const { specs, validators } = generateActionSpecModules(builtinActions().values());
    const read = (f: string) => readFile(new URL(`../generated/${f}`, import.meta.url), 'utf8');
    expect(await read('action-specs.ts')).toBe(specs);
    expect(await read('action-validators.ts')).toBe(validators);
  });

  it('name the same actions with the same descriptions and schemas as the registry', () => {
    const live = [...builtinActions().values()].map(({ name, description, withSchema }) => ({
      name,
      description,
      withSchema,
    }));
    const light = [...builtinActionSpecs().values()].map(({ name, description, withSchema }) => ({
      name,
      description,
      withSchema,
    }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(light.sort(byName)).toEqual(live.sort(byName));
  });

  it('give every action a precompiled validator that accepts and refuses like its schema', async () => {
    const disk = builtinActionSpecs().get('inspection.disk');
    const validate = await disk?.loadValidator?.();
    expect(validate?.({ thresholds: { warn_pct: 70 } })).toBe(true);
    expect(validate?.({ thresholds: { warn_pct: 'high' } })).toBe(false);
    expect(validate?.({ bogus: 1 })).toBe(false);
    for (const spec of builtinActionSpecs().values())
      expect(typeof (await spec.loadValidator?.()), spec.name).toBe('function');
  });

  it('refuse a bad with: in a runbook through validate with file:line:col', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-specs-'));
    try {
      await writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: '@runbooks/check-disk', version: '1.0.0', private: true }),
      );
      await writeFile(
        path.join(dir, 'runbook.yaml'),
        [
          'apiVersion: opsbook/v1',
          'kind: Runbook',
          'metadata:',
          '  name: check-disk',
          '  title: Disk usage',
          '  description: disk usage',
          '  category: routine',
          '  grade: P4',
          '  owners: [ops]',
          'spec:',
          '  steps:',
          '    - id: disk',
          '      name: Check disk usage',
          '      uses: inspection.disk',
          '      with:',
          '        thresholds:',
          '          warn_pct: high',
          '',
        ].join('\n'),
      );
      const result = await loadRunbook(dir, { actions: builtinActionSpecs(), cwd: dir });
      expect(result.ok).toBe(false);
      expect(result.problems.map((p) => `${p.line}:${p.col} ${p.rule}`)).toEqual([
        '17:21 wrong-type',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
