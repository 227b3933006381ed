import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadInventory, selectHosts } from '@opsbook/inventory';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './run-cli.js';

/*
 * The README's commands are run by newcomers from a fresh checkout: every inventory they name
 * with -i must be in the repository, load, and hold hosts for the --target on the same line.
 */

const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
const commands = readme.split('\n').filter((line) => /^pnpm -s opsbook .* -i \S+/.test(line));

describe("the README's -i inventories", () => {
  it('are named by its commands', () => {
    expect(commands.length).toBeGreaterThan(5);
  });

  it.each(commands.map((line) => [line]))('%s', async (line) => {
    const file = / -i (\S+)/.exec(line)![1]!;
    const inventory = await loadInventory(path.join(repoRoot, file));
    const target = / --target '([^']+)'/.exec(line)?.[1] ?? 'all';
    expect(selectHosts(inventory, target).length, target).toBeGreaterThan(0);
  });
});
