import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../src/command.js';
import { commands } from '../src/commands/registry.js';
import { runCli } from './run-cli.js';

/*
 * Issue 15, item 3: the command table (src/commands/registry.ts) is the only place a command's
 * name and summary are written. `opsbook --help` lists them from the table without loading any
 * command; `opsbook <cmd> --help` shows the same words once the command is loaded.
 */

const commandsDir = path.resolve(import.meta.dirname, '../src/commands');

describe('the command table', () => {
  it('gives `opsbook --help` and `opsbook <cmd> --help` the same name and summary, for every command', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    const width = Math.max(...commands.map((c) => c.name.length));
    const listed = main.stdout.split('\n').filter((l) => /^ {2}\S/.test(l));
    expect(listed).toEqual(commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`));

    const helps = await Promise.all(commands.map((c) => runCli([...c.name.split(' '), '--help'])));
    for (const [i, c] of commands.entries()) {
      const r = helps[i]!;
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(0);
      const [usage, blank, summary] = r.stdout.split('\n');
      expect(usage, c.name).toMatch(new RegExp(`^opsbook ${c.name}( |$)`));
      expect([blank, summary], c.name).toEqual(['', c.summary]);
    }
  });

  it('is the only place a name or summary is written: no command module carries its own', async () => {
    for (const c of commands) {
      const spec = await c.load();
      expect(Object.hasOwn(spec, 'name'), `${c.name} defines a name`).toBe(false);
      expect(Object.hasOwn(spec, 'summary'), `${c.name} defines a summary`).toBe(false);
    }
  });

  it('lists every command a module defines, each once', async () => {
    const listed = await Promise.all(commands.map((c) => c.load()));
    expect(new Set(listed).size, 'two table entries load the same command').toBe(listed.length);
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
    for (const file of await readdir(commandsDir)) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      const module = (await import(path.join(commandsDir, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module))
        if (isCommandSpec(value))
          expect(listed.includes(value), `${file} exports ${name}, not in the table`).toBe(true);
    }
  });
});

function isCommandSpec(value: unknown): value is CommandSpec {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}
