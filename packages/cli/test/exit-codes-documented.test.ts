import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { storageErrnos, storageErrorOf } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../src/exit-code.js';
import { errorTableStates, listName, packageErrorCodes } from './error-tables.js';
import { repoRoot } from './run-cli.js';

/*
 * The exit codes are a contract: every code the CLI can return is in the README's
 * exit table with its meaning, and every stable error code is listed in docs/exit-codes.md under
 * the exit code it gets. Read from the sources, so a new code or a new `return N` without its
 * documentation fails here, naming it. Each package lists its codes in src/error-codes.ts, and
 * its README's error table is generated from that list (`pnpm gen:errors`).
 */

const kindOfClass: Record<string, string> = {
  RefusalError: 'refused',
  UnreachableError: 'unreachable',
  WorkFailedError: 'failed',
  StorageError: 'failed',
  ValidationError: 'invalid',
  UsageError: 'invalid',
  InterruptedError: 'interrupted',
};
const exitOfKind = exitCodes as Record<string, number>;

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['generated', '__fixtures__', 'node_modules'].includes(entry.name))
        found.push(...(await sourceFiles(file)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) found.push(file);
  }
  return found;
}

interface ThrownCode {
  code: string;
  kind: string;
  /** Where, relative to the package folder. */
  file: string;
}

/** Every code each package's sources throw, with its kind, as far as a reading of them finds. */
async function thrownCodes(): Promise<Map<string, ThrownCode[]>> {
  const patterns: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
    // new RefusalError('CODE', …), new OpsbookError('refused', 'CODE', …), and the same classes
    // typed by the package's list: new backupErrors.WorkFailedError('CODE', …)
    [
      /new\s+(?:\w+\.)?(RefusalError|UnreachableError|WorkFailedError|StorageError|OpsbookError)\(\s*(?:'(\w+)'\s*,\s*)?'([A-Z][A-Z0-9_]+)'/g,
      (m) => m[2] ?? kindOfClass[m[1]!]!,
    ],
    // new ValidationError(problems, 'CODE')
    [
      /new\s+(?:\w+\.)?ValidationError\(\s*[\w.]+(?:\([^()]*\))?\s*,\s*'([A-Z][A-Z0-9_]+)'\s*\)/g,
      () => 'invalid',
    ],
    // refuse('CODE', …): the refusal helpers of approval verification and ticket acceptance
    [/\brefuse\(\s*'([A-Z][A-Z0-9_]+)'/g, () => 'refused'],
  ];
  const root = path.join(repoRoot, 'packages');
  const found = new Map<string, ThrownCode[]>();
  for (const pkg of await readdir(root)) {
    if (pkg === 'testkit') continue;
    const codes: ThrownCode[] = [];
    const dir = path.join(root, pkg);
    for (const file of await sourceFiles(path.join(dir, 'src')).catch(() => [])) {
      const text = await readFile(file, 'utf8');
      for (const [pattern, kindOf] of patterns)
        for (const m of text.matchAll(pattern))
          codes.push({ code: m[3] ?? m[1]!, kind: kindOf(m), file: path.relative(dir, file) });
    }
    found.set(pkg, codes);
  }
  return found;
}

/** Every `code → exit`: each package's list, and what a reading of the sources finds. */
async function allCodes(): Promise<Map<string, Set<number>>> {
  const codes = new Map<string, Set<number>>();
  const add = (code: string, kind: string) => {
    const exit = exitOfKind[kind];
    if (exit === undefined) throw new Error(`${code}: kind ${kind} has no exit code`);
    codes.set(code, (codes.get(code) ?? new Set()).add(exit));
  };
  for (const { codes: list } of await packageErrorCodes(repoRoot))
    for (const { code, kind } of list) add(code, kind);
  for (const thrown of (await thrownCodes()).values())
    for (const { code, kind } of thrown) add(code, kind);
  for (const errno of storageErrnos)
    add(storageErrorOf(Object.assign(new Error(errno), { code: errno }))!.code, 'failed');
  return codes;
}

/** The rows of the README's exit table: exit code → meaning. */
async function readmeExitTable(): Promise<Map<number, string>> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| exit | meaning'));
  const rows = new Map<number, string>();
  for (const line of table.split('\n').slice(2)) {
    const m = /^\|\s*(\d+)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!m) break;
    rows.set(Number(m[1]), m[2]!);
  }
  return rows;
}

/** docs/exit-codes.md: the codes listed under each `## <exit> …` heading. */
async function documentedCodes(): Promise<Map<number, Set<string>>> {
  const text = await readFile(path.join(repoRoot, 'docs/exit-codes.md'), 'utf8');
  const sections = new Map<number, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of text.split('\n')) {
    const heading = /^## (\d+)\b/.exec(line);
    if (heading) {
      current = new Set();
      sections.set(Number(heading[1]), current);
    } else if (line.startsWith('## ')) current = undefined;
    else if (current) for (const m of line.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) current.add(m[1]!);
  }
  return sections;
}

/** The numbers the CLI's sources return or exit with, beside the named exitCodes. */
async function literalExits(): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  const dir = path.join(repoRoot, 'packages/cli/src');
  for (const file of await sourceFiles(dir)) {
    const text = await readFile(file, 'utf8');
    // `return 0;`, `return x ? 3 : 0;`, `return a ? 1 : b ? 4 : 0;`, `process.exit(130)`
    const returns = /\breturn\s+((?:[\w.!]+\s*\?\s*)?\d+(?:\s*:\s*(?:[\w.!]+\s*\?\s*)?\d+)*)\s*;/g;
    for (const m of text.matchAll(returns))
      for (const n of m[1]!.match(/(?<![\w.])\d+(?![\w.])/g) ?? [])
        found.set(Number(n), path.relative(dir, file));
    for (const m of text.matchAll(/process\.exit\((\d+)\)/g))
      found.set(Number(m[1]), path.relative(dir, file));
    // A `{ ok: 0, crit: 1 }`-style table of exits (inspect's findings)
    for (const m of text.matchAll(/const EXIT_\w+ = \{([^}]*)\}/g))
      for (const n of m[1]!.match(/\d+/g) ?? []) found.set(Number(n), path.relative(dir, file));
  }
  return found;
}

describe('the exit codes are documented', () => {
  it('lists every exit code of the CLI, and only those, in the README table', async () => {
    const table = await readmeExitTable();
    const returned = new Set(Object.values(exitCodes));
    expect([...table.keys()].sort((a, b) => a - b)).toEqual([...returned].sort((a, b) => a - b));
    for (const [exit, meaning] of table) expect(meaning, `exit ${exit}`).not.toBe('');
  });

  it('returns no number that is not in the table', async () => {
    const table = await readmeExitTable();
    for (const [exit, file] of await literalExits())
      expect(table.has(exit), `src/${file} returns ${exit}, which README's table lacks`).toBe(true);
  });

  it('returns exit codes by name (src/exit-code.ts), never as a bare number, from a command', async () => {
    const bare = [...(await literalExits())].filter(([, file]) => file.startsWith('commands/'));
    expect(bare.map(([exit, file]) => `src/${file} returns ${exit}`)).toEqual([]);
  });

  it('lists every error code in docs/exit-codes.md under the exit code it gets', async () => {
    const documented = await documentedCodes();
    const missing: string[] = [];
    for (const [code, exits] of await allCodes())
      for (const exit of exits)
        if (!documented.get(exit)?.has(code)) missing.push(`${code} under "## ${exit}"`);
    expect(missing, 'add these to docs/exit-codes.md').toEqual([]);
  });

  it('finds every code a package throws in its src/error-codes.ts, under the kind it is thrown as', async () => {
    const lists = new Map((await packageErrorCodes(repoRoot)).map((p) => [p.pkg, p.codes]));
    const shared = lists.get('schema') ?? [];
    const unlisted: string[] = [];
    for (const [pkg, thrown] of await thrownCodes())
      for (const { code, kind, file } of thrown) {
        const listed = [...(lists.get(pkg) ?? []), ...shared];
        if (!listed.some((c) => c.code === code && c.kind === kind))
          unlisted.push(
            `${code} (${kind}), thrown in packages/${pkg}/${file}: add it to ${listName(pkg)}`,
          );
      }
    expect(unlisted).toEqual([]);
  });

  it('has in each package README the error table `pnpm gen:errors` writes from its list', async () => {
    const stale = (await errorTableStates(repoRoot))
      .filter((s) => s.current !== s.expected)
      .map((s) => `${s.file}: run pnpm gen:errors`);
    expect(stale).toEqual([]);
  });
});
