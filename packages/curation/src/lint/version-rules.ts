import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { didYouMean, type RunbookBundle, UsageError } from '@opsbook/schema';
// semver's parts, not its index (which loads every function and range of the package).
import compareVersions from 'semver/functions/compare.js';
import validVersion from 'semver/functions/valid.js';
import type { LintFinding } from './lint-finding.js';

/*
 * The version rule (issue #20 item 2): a runbook whose bundle changed since a revision (the last
 * release, e.g. origin/main) must say so in its version, or in a changeset still to be applied,
 * so that `pnpm version-packages` gives it a new version and a CHANGELOG entry. Files compared
 * as git compares them (blob ids), but CHANGELOG.md and README.md at the top of the folder,
 * which the bundle digest leaves out too.
 */

const run = promisify(execFile);
const UNDIGESTED = new Set(['CHANGELOG.md', 'README.md']);

/** `opsbook lint --since REV`: the revision, and the folder inside the git repository. */
export interface SinceRevision {
  rev: string;
  /** Any folder inside the repository (the opsbook.yaml folder). */
  cwd: string;
}

/** What the version rule reads once for every runbook. */
export interface VersionBaseline {
  rev: string;
  commit: string;
  repoRoot: string;
  /** Package names a pending `.changeset/*.md` bumps. */
  pending: ReadonlySet<string>;
  /** Each pending changeset, to name the one a runbook's author likely meant. */
  changesets?: readonly ChangesetNames[];
}

/** What one `.changeset/*.md` names: its keys as changesets reads them, and `@` keys unquoted. */
export interface ChangesetNames {
  /** `.changeset/NAME.md`. */
  file: string;
  names: string[];
  /** `@runbooks/x: patch` without quotes: YAML cannot read it, so it names nothing. */
  unquoted: string[];
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', cwd, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Resolves the revision and reads the pending changesets; a usage error when git cannot. */
export async function versionBaseline(since: SinceRevision): Promise<VersionBaseline> {
  // Given to git as an argument: a leading '-' would be read as one of its options.
  if (since.rev === '' || since.rev.startsWith('-'))
    throw new UsageError(
      `--since ${JSON.stringify(since.rev)} is not a revision: give a branch, tag or commit (e.g. origin/main)`,
    );
  let repoRoot: string;
  try {
    repoRoot = (await git(since.cwd, ['rev-parse', '--show-toplevel'])).trim();
  } catch {
    throw new UsageError(
      `--since needs a git repository: ${since.cwd} is not in one (or git is not installed)`,
    );
  }
  let commit: string;
  try {
    commit = (
      await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${since.rev}^{commit}`])
    ).trim();
  } catch {
    throw new UsageError(
      `--since ${since.rev} is not a commit of ${repoRoot}: give a branch, tag or commit (e.g. origin/main, after git fetch)`,
    );
  }
  const changesets = await readChangesets(repoRoot);
  const pending = new Set(changesets.flatMap((c) => c.names));
  return { rev: since.rev, commit, repoRoot, pending, changesets };
}

/** Package names the changesets in `<repoRoot>/.changeset/` bump (their front matter keys). */
export async function pendingChangesets(repoRoot: string): Promise<Set<string>> {
  return new Set((await readChangesets(repoRoot)).flatMap((c) => c.names));
}

async function readChangesets(repoRoot: string): Promise<ChangesetNames[]> {
  const dir = path.join(repoRoot, '.changeset');
  const files = await readdir(dir).catch(() => [] as string[]);
  const changesets: ChangesetNames[] = [];
  for (const file of files.sort()) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    const text = await readFile(path.join(dir, file), 'utf8');
    const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text)?.[1] ?? '';
    const names: string[] = [];
    // A key as YAML reads it: quoted, or plain but not starting with `@`, which YAML reserves
    // (`@runbooks/x: patch` unquoted is a changeset pnpm version-packages refuses to parse).
    for (const m of front.matchAll(
      /^\s*(?:"([^"\s:]+)"|'([^'\s:]+)'|([^"'@`\s:][^"'\s:]*))\s*:\s*(major|minor|patch)\s*$/gm,
    ))
      names.push((m[1] ?? m[2] ?? m[3])!);
    const unquoted = [...front.matchAll(/^\s*(@[^"'\s:]+)\s*:\s*(?:major|minor|patch)\s*$/gm)].map(
      (m) => m[1]!,
    );
    changesets.push({ file: `.changeset/${file}`, names, unquoted });
  }
  return changesets;
}

/**
 * The changeset its author likely meant for `packageName`: one that has it unquoted, or names a
 * package one or two letters off (`@runbooks/disk-clenup`). Empty when none is near.
 */
function nearChangeset(packageName: string, base: VersionBaseline): string {
  const changesets = base.changesets ?? [];
  const unquoted = changesets.find((c) => c.unquoted.includes(packageName));
  if (unquoted)
    return `: ${unquoted.file} has ${packageName} unquoted, which YAML and changesets cannot read (a key cannot start with @): write it in quotes, "${packageName}": patch`;
  // Within the same scope, the names after it close enough to be a typo (as a did-you-mean).
  const scope = packageName.slice(0, packageName.indexOf('/') + 1);
  const bare = (n: string) => n.slice(scope.length);
  for (const c of changesets) {
    const others = c.names.filter((n) => n !== packageName && n.startsWith(scope));
    const guess = didYouMean(bare(packageName), others.map(bare));
    const near = guess !== undefined ? `${scope}${guess}` : undefined;
    if (near)
      return `: ${c.file} names ${near}: if it is meant for this runbook, correct the name there to "${packageName}"`;
  }
  return '';
}

/** The version rule's finding for one runbook, if it changed without a version or changeset. */
export async function versionFindings(
  bundle: RunbookBundle,
  base: VersionBaseline,
): Promise<LintFinding[]> {
  const rel = path.relative(base.repoRoot, bundle.dir).split(path.sep).join('/');
  const before = await blobsAt(base, rel);
  const now = await blobsIn(bundle.dir);
  const changed = [...new Set([...before.keys(), ...now.keys()])]
    .filter((f) => !UNDIGESTED.has(f) && before.get(f) !== now.get(f))
    .sort();
  if (changed.length === 0) return [];
  const versionBefore = before.has('package.json')
    ? (
        JSON.parse(await git(base.repoRoot, ['show', `${base.commit}:${rel}/package.json`])) as {
          version?: string;
        }
      ).version
    : undefined;
  const what =
    before.size === 0
      ? `is new since ${base.rev}`
      : `changed since ${base.rev} (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? `, ${changed.length - 3} more` : ''})`;
  // New since REV: like an unchanged version, it needs its changeset.
  const order = versionBefore !== undefined ? versionOrder(bundle.version, versionBefore) : 0;
  // Lowered: a pending changeset bumps from there, still below what REV released.
  if (order < 0)
    return [
      finding(
        bundle,
        `${bundle.name} ${what}, but its version ${bundle.version} is lower than ${versionBefore} at ${base.rev}: a runbook's version only goes up (approvals and composing runbooks name it by version); set it back to ${versionBefore} and run pnpm changeset, picking ${bundle.packageName} (or set a version above ${versionBefore} in its package.json)`,
      ),
    ];
  if (order > 0 || base.pending.has(bundle.packageName)) return [];
  const isSame = versionBefore === undefined || bundle.version === versionBefore;
  const still = isSame
    ? `its version is still ${bundle.version}`
    : `its version ${bundle.version} is not greater than ${versionBefore} at ${base.rev}`;
  const raise = isSame
    ? 'raise the version in its package.json'
    : `raise the version in its package.json above ${versionBefore}`;
  return [
    finding(
      bundle,
      `${bundle.name} ${what}, but ${still} and no changeset in .changeset/ names ${bundle.packageName}${nearChangeset(bundle.packageName, base) || `: run pnpm changeset and pick ${bundle.packageName} (or ${raise})`}`,
    ),
  ];
}

/** semver precedence of `now` against `before`; a version semver cannot read compares as text. */
function versionOrder(now: string, before: string): number {
  const a = validVersion(now);
  const b = validVersion(before);
  if (!a || !b) return now === before ? 0 : 1;
  return compareVersions(a, b);
}

function finding(bundle: RunbookBundle, message: string): LintFinding {
  return {
    rule: 'version-unchanged',
    source: 'opsbook',
    severity: 'error',
    file: bundle.file,
    line: 1,
    col: 1,
    endLine: 1,
    endCol: 1,
    runbook: bundle.name,
    message,
  };
}

/** The git blob id of every file under `rel` at the baseline commit, by path inside `rel`. */
async function blobsAt(base: VersionBaseline, rel: string): Promise<Map<string, string>> {
  const out = await git(base.repoRoot, [
    'ls-tree',
    '-r',
    '-z',
    '--full-tree',
    base.commit,
    '--',
    rel,
  ]);
  const blobs = new Map<string, string>();
  for (const entry of out.split('\0')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (m?.[2]?.startsWith(`${rel}/`)) blobs.set(m[2].slice(rel.length + 1), m[1]!);
  }
  return blobs;
}

/** The git blob id of every file in `dir` as it is now (what `git hash-object` gives). */
async function blobsIn(dir: string, prefix = ''): Promise<Map<string, string>> {
  const blobs = new Map<string, string>();
  for (const name of await readdir(path.join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const info = await lstat(path.join(dir, rel));
    if (info.isDirectory()) {
      for (const [k, v] of await blobsIn(dir, rel)) blobs.set(k, v);
    } else if (info.isFile()) {
      const bytes = await readFile(path.join(dir, rel));
      blobs.set(
        rel,
        createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'),
      );
    }
  }
  return blobs;
}
