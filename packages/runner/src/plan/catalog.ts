// fs/promises through `promises`, on first use: validate and list need none of it.
import { promises as fs, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import {
  type Config,
  cachedUnlessRejected,
  didYouMean,
  findRunbookDirs,
  type LoadResult,
  loadRunbook,
  RUNBOOK_SCOPE,
  type RunbookBundle,
  showControlsOnLine,
  someOf,
  UsageError,
  ValidationError,
} from '@opsbook/schema';
import { builtinActionSpecs } from '../actions/action-specs.js';
import type { Composition, Library, ResolveOptions } from './compose.js';
import { composedNames, composesRunbooks, flattenCompositions } from './composition-tree.js';

/** compose.ts, loaded for the first runbook that composes others: most catalogs have none. */
const resolveCompositions: typeof import('./compose.js').resolveCompositions = async (...args) =>
  (await import('./compose.js')).resolveCompositions(...args);

/**
 * Resolve what the user typed (a runbook name, `@runbooks/name`, a folder, or a runbook.yaml)
 * to a runbook folder.
 */
export async function resolveRunbookDir(
  ref: string,
  config: Config,
  cwd = process.cwd(),
): Promise<string> {
  const asPath = path.resolve(cwd, ref);
  const st = statOrUndefined(asPath);
  if (st?.isDirectory()) return asPath;
  if (st?.isFile() && path.basename(asPath) === 'runbook.yaml') return path.dirname(asPath);
  if (st?.isFile()) throw new UsageError(`'${ref}' is a file; give a runbook name or its folder`);
  const name = ref.startsWith(RUNBOOK_SCOPE) ? ref.slice(RUNBOOK_SCOPE.length) : ref;
  if (!/[\\/]/.test(name)) {
    const dir = path.join(config.runbooksDir, name);
    if (statOrUndefined(dir)?.isDirectory()) return dir;
  }
  // Folder names, kept on their line: a newline in one would print a line of its choosing.
  const known = (await findRunbookDirs(config.runbooksDir, config.runbooksNamedAt)).map((d) =>
    showControlsOnLine(path.basename(d)),
  );
  const guess = didYouMean(name, known);
  const outside = outsideRepository(config, cwd);
  throw new UsageError(
    `no runbook '${ref}' in ${shownFolder(config.runbooksDir, cwd)}: ${
      guess
        ? `did you mean '${guess}'?`
        : known.length
          ? `known runbooks: ${someOf(known)}${known.length > 12 ? ' (opsbook list shows them all)' : ''}`
          : (outside ?? 'there are no runbooks yet (pnpm new-runbook NAME)')
    }`,
  );
}

/** A folder as a message names it: relative when inside `cwd`, else absolute (not `../../..`). */
export function shownFolder(dir: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, dir);
  if (rel === '') return '.';
  return rel.split(path.sep)[0] === '..' || path.isAbsolute(rel) ? dir : rel;
}

/**
 * Why there are no runbooks when opsbook runs outside any repository (no opsbook.yaml in `cwd`
 * or above it, and no `runbooks/` here): most often a command typed in the wrong folder, which
 * must not read as "a new repository with no runbook yet" (nor pass a CI gate). Undefined inside
 * a repository.
 */
export function outsideRepository(config: Config, cwd = process.cwd()): string | undefined {
  if (config.file || statOrUndefined(config.runbooksDir)) return undefined;
  return `there is no opsbook.yaml in ${cwd} or any folder above it, and no ${path.basename(config.runbooksDir)} folder here: run opsbook inside your runbook repository (cd into it), or name its opsbook.yaml with --config FILE`;
}

/** What a path is, or undefined for any failure (a missing path, a folder that cannot be read). */
function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The compositions of each runbook loaded ok, resolved while loading it. */
const resolvedCompositions = new WeakMap<RunbookBundle, Composition[]>();

function loaderFor(cwd: string, texts?: Map<string, string>) {
  return (dir: string) =>
    loadRunbook(dir, { actions: builtinActionSpecs(), cwd, ...(texts ? { texts } : {}) });
}

/**
 * Load one runbook with the built-in actions known to this runner. A runbook that composes others
 * (`uses: runbook:NAME@RANGE`) is valid only when each resolves in its library folder and takes
 * the params its step gives (compose.ts): those problems are the runbook's own.
 */
export async function loadRunbookFor(dir: string, cwd = process.cwd()): Promise<LoadResult> {
  const load = loaderFor(cwd);
  return withCompositions(await load(dir), { load, cwd });
}

/** A loaded runbook, failed when a runbook it composes does not resolve (compose.ts). */
async function withCompositions(result: LoadResult, options: ResolveOptions): Promise<LoadResult> {
  if (!result.ok || !composesRunbooks(result.bundle)) return result;
  const resolved = await resolveCompositions(result.bundle, options);
  if (resolved.problems.length)
    return { ok: false, problems: resolved.problems, dir: result.bundle.dir };
  if (!options.checkOnly) resolvedCompositions.set(result.bundle, resolved.compositions);
  return result;
}

/**
 * The runbooks a runbook composes, resolved in its library folder now (or when loadRunbookFor
 * loaded it): none for one that composes none; a ValidationError when one does not resolve.
 */
export async function compositionsOf(
  bundle: RunbookBundle,
  cwd = process.cwd(),
): Promise<Composition[]> {
  const known = resolvedCompositions.get(bundle);
  if (known) return known;
  if (!composesRunbooks(bundle)) return [];
  const resolved = await resolveCompositions(bundle, { load: loaderFor(cwd), cwd });
  if (resolved.problems.length) throw new ValidationError(resolved.problems);
  resolvedCompositions.set(bundle, resolved.compositions);
  return resolved.compositions;
}

/** The composed runbooks as a reader sees them: where, which, the range asked, the bundle's digest. */
export function composedRefs(compositions: readonly Composition[]) {
  return flattenCompositions(compositions).map((c) => ({
    step: c.path,
    name: c.bundle.name,
    version: c.bundle.version,
    range: c.range,
    digest: c.digest.digest,
  }));
}

export type { Composition };

export interface CatalogOptions {
  /**
   * Only the runbooks' problems are wanted (validate, list): the runbooks composed are checked as
   * ever, but not digested, and compositionsOf resolves a composite's again when asked.
   */
  checkOnly?: boolean;
  /**
   * With named runbooks: also the runbooks of the repository that compose one of them, directly
   * or through another (`uses: runbook:<name>@<range>`), after the named ones. A composite whose
   * range no longer matches the named runbook's version fails to load there, as in the whole
   * catalog; one that loads is left out (it was not asked for).
   */
  brokenComposers?: boolean;
}

/** Load the named runbooks, or every runbook of the repository when `refs` is empty. */
export async function loadCatalog(
  config: Config,
  refs: readonly string[] = [],
  cwd = process.cwd(),
  options: CatalogOptions = {},
): Promise<LoadResult[]> {
  const dirs = refs.length
    ? await Promise.all(refs.map((r) => resolveRunbookDir(r, config, cwd)))
    : await findRunbookDirs(config.runbooksDir, config.runbooksNamedAt);
  // Each file is read, each runbook loaded and each library listed once for the whole catalog:
  // a composite's library is usually the catalog's own folder, loaded here anyway.
  const texts = new Map<string, string>();
  const loadDir = loaderFor(cwd, texts);
  const loads = new Map<string, Promise<LoadResult>>();
  const load = (dir: string) => cachedUnlessRejected(loads, dir, loadDir);
  const resolve: ResolveOptions = {
    load,
    cwd,
    libraries: new Map<string, Library>(),
    texts,
    checkOnly: options.checkOnly === true,
  };
  const named = await Promise.all(dirs.map(async (d) => withCompositions(await load(d), resolve)));
  if (!refs.length || !options.brokenComposers) return named;
  const names = new Set(named.map((r) => (r.ok ? r.bundle.name : path.basename(r.dir))));
  const composers = await composersOf(
    names,
    (await findRunbookDirs(config.runbooksDir, config.runbooksNamedAt)).filter(
      (d) => !dirs.includes(d),
    ),
    load,
  );
  const checked = await Promise.all(composers.map((r) => withCompositions(r, resolve)));
  return [...named, ...checked.filter((r) => !r.ok)];
}

/** Of the runbooks in `dirs`, those that compose one of `names`, or a runbook that does (closure). */
async function composersOf(
  names: ReadonlySet<string>,
  dirs: readonly string[],
  load: (dir: string) => Promise<LoadResult>,
): Promise<LoadResult[]> {
  const bundles = (await Promise.all(dirs.map(load))).flatMap((r) =>
    r.ok && composesRunbooks(r.bundle) ? [r] : [],
  );
  const composed = new Set(names);
  const found: LoadResult[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of bundles)
      if (!found.includes(r) && composedNames(r.bundle).some((n) => composed.has(n))) {
        found.push(r);
        composed.add(r.bundle.name);
        grew = true;
      }
  }
  return found;
}

/** Load the runbook the user named; every problem is raised as one ValidationError. */
export async function loadOneRunbook(
  ref: string,
  config: Config,
  cwd = process.cwd(),
): Promise<RunbookBundle> {
  const result = await loadRunbookFor(await resolveRunbookDir(ref, config, cwd), cwd);
  if (!result.ok) throw new ValidationError(result.problems);
  return result.bundle;
}

export interface VersionEntry {
  version: string;
  changes: string[];
}

/** The version history that changesets wrote into the runbook's CHANGELOG.md (newest first). */
export async function readVersionHistory(dir: string): Promise<VersionEntry[]> {
  const text = await fs.readFile(path.join(dir, 'CHANGELOG.md'), 'utf8').catch(() => '');
  const entries: VersionEntry[] = [];
  for (const line of text.split('\n')) {
    const heading = /^##\s+v?(\d+\.\d+\.\d+\S*)\s*$/.exec(line);
    if (heading?.[1]) entries.push({ version: heading[1], changes: [] });
    const item = /^\s*[-*]\s+(?:[0-9a-f]{7,40}:\s+)?(.+)$/.exec(line);
    if (item?.[1] && entries.length) entries[entries.length - 1]?.changes.push(item[1].trim());
  }
  return entries;
}
