import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { globalOptions } from '../src/command.js';
import { commands } from '../src/commands/registry.js';
import { repoRoot } from './run-cli.js';

/*
 * A newcomer types the commands of README.md and docs/ as printed. Every `opsbook …` line in
 * their shell blocks must name a command opsbook has, with only options that command takes (a
 * renamed or removed option in the docs is a command that fails on the first try), and an
 * inventory of the repository it names with -i must exist.
 */

interface DocCommand {
  where: string;
  words: string[];
}

/** The `opsbook …` commands of a Markdown file's sh blocks, continuation lines joined. */
function docCommands(file: string, text: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = text.split('\n');
  let inShell = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^```/.test(line)) {
      inShell = !inShell && /^```(sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inShell) continue;
    let command = line;
    const start = i + 1;
    while (command.endsWith('\\') && i + 1 < lines.length)
      command = `${command.slice(0, -1)} ${lines[++i]}`;
    for (const part of command.split(/&&|\|/)) {
      const words = part
        .replace(/\s#.*$/, '')
        .trim()
        .split(/\s+/);
      while (words[0] && /^[A-Z_]+=/.test(words[0])) words.shift(); // VAR=… opsbook …
      if (words[0] === 'sudo') words.shift();
      if (words[0] === 'pnpm' && words[1] === '-s' && words[2] === 'opsbook') words.splice(0, 2);
      // `opsbook <command> --help` names no command: the placeholder is the point.
      if (words[0] === 'opsbook' && words.length > 1 && !words[1]!.startsWith('<'))
        out.push({ where: `${file}:${start}`, words: words.slice(1) });
    }
  }
  return out;
}

const files = [
  'README.md',
  ...(await readdir(path.join(repoRoot, 'docs')))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const documented = (
  await Promise.all(
    files.map(async (f) => docCommands(f, await readFile(path.join(repoRoot, f), 'utf8'))),
  )
).flat();

/** The command a line names (the longest table name its first words spell), and its options. */
async function resolve(words: string[]) {
  const entry = [...commands]
    .sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)
    .find((c) => c.name.split(' ').every((w, i) => words[i] === w));
  if (!entry) return undefined;
  const spec = await entry.load();
  const options = { ...globalOptions, ...spec.options };
  const long = new Set(Object.keys(options).map((o) => `--${o}`));
  const short = new Set(
    Object.values(options)
      .filter((o) => o.short)
      .map((o) => `-${o.short}`),
  );
  return { name: entry.name, long, short };
}

describe('the opsbook commands printed in README.md and docs/', () => {
  it('are found in the docs', () => {
    expect(documented.length).toBeGreaterThan(40);
  });

  it.each(documented.map((c) => [`${c.where} opsbook ${c.words.join(' ')}`, c]))(
    '%s',
    async (_, c) => {
      const { words, where } = c as DocCommand;
      const command = await resolve(words.filter((w) => !w.startsWith('--config')));
      expect(command, `${where}: no command '${words.slice(0, 2).join(' ')}'`).toBeDefined();
      // An inventory of the repository (`-i inventory/…`) must be there: a fresh checkout runs it.
      const inventory = words[words.indexOf('-i') + 1];
      if (words.includes('-i') && inventory?.startsWith('inventory/'))
        await expect(
          access(path.join(repoRoot, inventory)),
          `${where}: ${inventory} is not in the repository`,
        ).resolves.toBeUndefined();
      for (const w of words) {
        const flag = w.split('=')[0]!;
        if (/^--[a-z]/.test(flag))
          expect(command!.long.has(flag), `${where}: opsbook ${command!.name} has no ${flag}`).toBe(
            true,
          );
        else if (/^-[a-zA-Z]$/.test(flag))
          expect(
            command!.short.has(flag),
            `${where}: opsbook ${command!.name} has no ${flag}`,
          ).toBe(true);
      }
    },
  );
});
