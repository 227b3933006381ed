import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, loadRunbook } from '../src/index.js';
import { invalidRunbooks, validYaml, writeCase } from './invalid-runbooks.js';
import { makeTempDir } from './temp-dir.js';

let root: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await makeTempDir();
});
afterAll(() => root.remove());

describe('the bad-input corpus', () => {
  it('has at least 30 cases, each expecting at least one problem', () => {
    expect(invalidRunbooks.length).toBeGreaterThanOrEqual(30);
    for (const c of invalidRunbooks) expect(c.expected.length, c.name).toBeGreaterThan(0);
  });

  it('starts from a runbook that is valid', async () => {
    const dir = await writeCase(root.dir, { name: 'valid-base', yaml: validYaml, expected: [] });
    const result = await loadRunbook(dir, { cwd: dir });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each(invalidRunbooks.map((c) => [c.name, c] as const))(
    'reports %s at the exact line and column',
    async (_name, c) => {
      const dir = await writeCase(root.dir, c);
      const result = await loadRunbook(dir, { cwd: dir });
      expect(result.ok).toBe(false);
      expect(result.problems.map(formatProblem)).toEqual(c.expected);
    },
  );
});
