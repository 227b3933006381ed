import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ErrorCodeEntry } from '@opsbook/schema';
import { exitCodes } from '../src/exit-code.js';

/*
 * Each package README's error table, generated from the package's `src/error-codes.ts` with the
 * exit code the CLI gives each kind. `pnpm gen:errors` (scripts/gen-error-tables.mjs) writes the
 * tables; exit-codes-documented.test.ts fails when a README's table is not what it would write.
 * Node 20 cannot import TypeScript, so both load this file through vite (vitest's loader), and
 * read the sources rather than a build that could be stale.
 */

export const tableStart = '<!-- error-codes:start -->';
export const tableEnd = '<!-- error-codes:end -->';

export interface PackageErrorCodes {
  /** The folder under packages/, e.g. `health-report`. */
  pkg: string;
  readme: string;
  codes: readonly ErrorCodeEntry[];
}

/** `health-report` → `healthReportErrorCodes`: the name of the list `src/error-codes.ts` exports. */
export function listName(pkg: string): string {
  return `${pkg.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}ErrorCodes`;
}

/** The packages that keep a `src/error-codes.ts`, with their lists. */
export async function packageErrorCodes(repoRoot: string): Promise<PackageErrorCodes[]> {
  const root = path.join(repoRoot, 'packages');
  const found: PackageErrorCodes[] = [];
  for (const pkg of (await readdir(root)).sort()) {
    const file = path.join(root, pkg, 'src/error-codes.ts');
    if (
      !(await access(file).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const codes = module[listName(pkg)];
    if (!Array.isArray(codes)) throw new Error(`${file} exports no list ${listName(pkg)}`);
    found.push({ pkg, readme: path.join(root, pkg, 'README.md'), codes });
  }
  return found;
}

/** A markdown table (code, kind and exit, meaning), padded as biome formats markdown. */
export function renderErrorTable(codes: readonly ErrorCodeEntry[]): string {
  for (const { code, meaning } of codes)
    if (/[|\n]/.test(meaning)) throw new Error(`${code}: a meaning is one line without "|"`);
  const rows = [
    ['code', 'kind (exit)', 'meaning'],
    ...codes.map((c) => [`\`${c.code}\``, `${c.kind} (${exitCodes[c.kind]})`, c.meaning]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => [...r[i]!].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join(
    '\n',
  );
}

/** `readme` with the text between the markers replaced by `table`. */
export function withErrorTable(readme: string, table: string, file: string): string {
  const start = readme.indexOf(tableStart);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start)
    throw new Error(`${file}: put ${tableStart} and ${tableEnd} where its error table goes`);
  return `${readme.slice(0, start + tableStart.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

export interface ErrorTableState {
  file: string;
  current: string;
  expected: string;
}

/** Each README as it is, and as the generator would write it. */
export async function errorTableStates(repoRoot: string): Promise<ErrorTableState[]> {
  const states: ErrorTableState[] = [];
  for (const { readme, codes } of await packageErrorCodes(repoRoot)) {
    const current = await readFile(readme, 'utf8');
    const file = path.relative(repoRoot, readme);
    states.push({
      file,
      current,
      expected: withErrorTable(current, renderErrorTable(codes), file),
    });
  }
  return states;
}

/** Writes the READMEs whose table is out of date; returns their paths. */
export async function writeErrorTables(repoRoot: string): Promise<string[]> {
  const written: string[] = [];
  for (const { file, current, expected } of await errorTableStates(repoRoot)) {
    if (current === expected) continue;
    await writeFile(path.join(repoRoot, file), expected);
    written.push(file);
  }
  return written;
}
