import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type BundleDigest,
  cachedUnlessRejected,
  didYouMean,
  digestRunbook,
  findRunbookDirs,
  formatProblem,
  type LoadResult,
  type PathSegment,
  type Phase,
  type Problem,
  parseComposeRef,
  phases,
  RUNBOOK_SCOPE,
  type RunbookBundle,
  readBundleFiles,
  type Step,
  someOf,
} from '@opsbook/schema';
// semver's parts, not its index: that one loads every function and range of the package.
import compareVersions from 'semver/functions/compare.js';
import validVersion from 'semver/functions/valid.js';
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import validRange from 'semver/ranges/valid.js';
import { checkComposedParams } from './compose-params.js';
import { flattenCompositions } from './composition-tree.js';

// Here too for the importers of this module; light enough for loadCatalog to import alone.
export { composesRunbooks, flattenCompositions } from './composition-tree.js';

/**
 * How deep runbooks may compose each other: a composite, what it composes, and so on, four levels
 * below the runbook that is planned. A reviewer reads every level in one plan; deeper nesting is
 * a design to flatten, not to review.
 */
export const MAX_COMPOSE_DEPTH = 4;

/** A runbook a step composes (`uses: runbook:NAME@RANGE`), resolved in the library. */
export interface Composition {
  /** The composing step ids from the planned runbook, joined by '/': `tidy`, `tidy/rotate`. */
  path: string;
  /** The composing step, in the runbook that composes. */
  step: Step;
  phase: Phase;
  /** The semver range the step asks for. */
  range: string;
  /** The runbook the range resolved to: the highest version of that name in the library. */
  bundle: RunbookBundle;
  digest: BundleDigest;
  /** What this runbook composes in turn. */
  children: Composition[];
}

export interface ResolveOptions {
  /** Loads one runbook folder (its own checks; composition is resolved here). */
  load(dir: string): Promise<LoadResult>;
  /** The folder of the library; default: the folder that holds the composing runbook. */
  libraryDir?: string;
  /** Folder that file names in problems are shown relative to; default: process.cwd(). */
  cwd?: string;
  /**
   * Libraries read so far, by folder: give the same map when resolving every runbook of one
   * catalog, and each library is listed, and each composed runbook loaded and digested, once for
   * all of them instead of once per composite (`load` and `cwd` must then be the same for all).
   */
  libraries?: Map<string, Library>;
  /**
   * Only the problems are wanted (validate): each composed runbook's files are read and refused
   * as its digest would read them (symlinks, names that are not UTF-8, unreadable files), but not
   * hashed, and no composition is returned. The same for every resolution that shares `libraries`.
   */
  checkOnly?: boolean;
  /**
   * Texts of the files read so far, by path (LoadOptions.texts): the library's package.json files
   * among them are not read again.
   */
  texts?: ReadonlyMap<string, string>;
}

export interface Resolved {
  compositions: Composition[];
  /** Each at the composing step in the runbook resolved, with file:line:col and the fix. */
  problems: Problem[];
}

/**
 * Resolve every `uses: runbook:NAME@RANGE` of a runbook, recursively: the range to the highest
 * version of NAME in the library that satisfies it, each composed runbook loaded and checked,
 * its params against the composing step's `with:`, no cycles, at most MAX_COMPOSE_DEPTH levels.
 * A problem deeper down is reported at the composing step of this runbook, naming where it is.
 */
export function resolveCompositions(
  bundle: RunbookBundle,
  options: ResolveOptions,
): Promise<Resolved> {
  const dir = options.libraryDir ?? path.dirname(bundle.dir);
  let library = options.libraries?.get(dir);
  if (!library) {
    library = new Library(dir, options.cwd ?? process.cwd(), options.load, options);
    options.libraries?.set(dir, library);
  }
  return resolveIn(bundle, [], '', library);
}

/** The folder of each composed runbook by its path: where its scripts are read from at run time. */
export function composedDirsOf(compositions: readonly Composition[]): Record<string, string> {
  return Object.fromEntries(flattenCompositions(compositions).map((c) => [c.path, c.bundle.dir]));
}

async function resolveIn(
  bundle: RunbookBundle,
  chain: readonly string[],
  prefix: string,
  library: Library,
): Promise<Resolved> {
  const compositions: Composition[] = [];
  const problems: Problem[] = [];
  for (const phase of phases) {
    const steps = bundle.runbook.spec[phase] ?? [];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const ref = parseComposeRef(step.uses);
      if (!ref) continue;
      const stepPath: PathSegment[] = ['spec', phase, i];
      const found = await resolveStep(bundle, step, ref, chain, library);
      if ('problem' in found) {
        problems.push({
          file: bundle.file,
          ...bundle.source.locate([...stepPath, 'uses']),
          ...found.problem,
        });
        continue;
      }
      problems.push(...checkComposedParams(bundle, step, stepPath, found.bundle));
      const below = await resolveIn(
        found.bundle,
        [...chain, bundle.name],
        `${prefix}${step.id}/`,
        library,
      );
      if (below.problems.length) {
        problems.push({
          file: bundle.file,
          ...bundle.source.locate([...stepPath, 'uses']),
          rule: 'compose-invalid',
          message: `${step.uses} (${found.bundle.name} ${found.bundle.version}) cannot be composed: ${listed(below.problems, found.bundle.name)}`,
        });
        continue;
      }
      if (library.checkOnly) {
        await library.readFiles(found.bundle);
        continue;
      }
      compositions.push({
        path: `${prefix}${step.id}`,
        step,
        phase,
        range: ref.range,
        bundle: found.bundle,
        digest: await library.digest(found.bundle),
        children: below.compositions,
      });
    }
  }
  return { compositions, problems };
}

type StepProblem = { problem: { rule: string; message: string } };

/** The runbook one composing step resolves to, or why it does not. */
async function resolveStep(
  bundle: RunbookBundle,
  step: Step,
  ref: { name: string; range: string },
  chain: readonly string[],
  library: Library,
): Promise<{ bundle: RunbookBundle } | StepProblem> {
  const fail = (rule: string, message: string): StepProblem => ({ problem: { rule, message } });
  const trail = [...chain, bundle.name, ref.name].join(' → ');
  if (ref.name === bundle.name || chain.includes(ref.name))
    return fail(
      'compose-cycle',
      `${step.uses} closes a cycle (${trail}): a runbook cannot run itself, directly or through the runbooks it composes; remove this step, or the one that composes ${bundle.name}`,
    );
  if (chain.length + 1 > MAX_COMPOSE_DEPTH)
    return fail(
      'compose-too-deep',
      `${step.uses} would compose ${chain.length + 1} levels deep (${trail}), more than ${MAX_COMPOSE_DEPTH}: a reviewer must read every level in one plan; run the steps of ${ref.name} here instead of composing it`,
    );
  const choice = await library.choose(ref.name, ref.range);
  if (!choice)
    return fail(
      'compose-bad-range',
      `'${ref.range}' is not a version range: write one such as ^1.2.0 (same major), ~1.2.0 (same minor) or 1.2.0 (exactly)`,
    );
  const { entries, versions, chosen } = choice;
  if (!entries.length) {
    const known = await library.names();
    const guess = didYouMean(ref.name, known);
    return fail(
      'unknown-runbook',
      `no runbook '${ref.name}' in ${library.shown}: ${guess ? `did you mean '${guess}'?` : known.length ? `known runbooks: ${someOf(known)}` : 'the library has no other runbook'}`,
    );
  }
  if (!chosen)
    return fail(
      'compose-range-unresolved',
      `${step.uses} matches no version of ${ref.name} in ${library.shown} (there ${versions.length === 1 ? 'is' : 'are'} ${versions.join(', ')}): change the range, e.g. to ^${versions.at(-1)}`,
    );
  const same = entries.filter((e) => e.version === chosen);
  if (same.length > 1)
    return fail(
      'compose-ambiguous',
      `${ref.name} ${chosen} is in ${same.length} folders (${same.map((e) => library.show(e.dir)).join(', ')}): keep one, so that the range resolves to one bundle`,
    );
  const loaded = await library.load(same[0]!.dir);
  if (!loaded.ok)
    return fail(
      'compose-invalid',
      `${step.uses} resolves to ${ref.name} ${chosen}, which is not valid: ${listed(loaded.problems, ref.name)}`,
    );
  // One approval covers the composite and what it composes, under the composite's category and
  // its policy: a composed runbook may not need a stricter one (routine work fits under any).
  const mine = bundle.runbook.metadata.category;
  const theirs = loaded.bundle.runbook.metadata.category;
  if (theirs !== mine && theirs !== 'routine') {
    const a = (c: string) => (c === 'incident' ? 'an' : 'a');
    return fail(
      'compose-category',
      `${bundle.name} is ${a(mine)} ${mine} runbook but ${ref.name} is ${a(theirs)} ${theirs} one: one approval covers both, under ${mine}'s policy${mine === 'routine' ? ' (a standing approval)' : ''}; compose ${mine === 'routine' ? 'routine runbooks only' : `${mine} or routine runbooks`}, or make ${bundle.name} ${a(theirs)} ${theirs} runbook`,
    );
  }
  // The grade too: P1 is the most urgent, and a team's policy may ask more signatures of it. A
  // composite of a less urgent grade would bring P1 work under a P3 approval.
  const myGrade = bundle.runbook.metadata.grade;
  const theirGrade = loaded.bundle.runbook.metadata.grade;
  if (theirs !== 'routine' && theirGrade < myGrade)
    return fail(
      'compose-grade',
      `${bundle.name} is graded ${myGrade} but ${ref.name} is ${theirGrade}: one approval covers both, under ${myGrade}'s policy; grade ${bundle.name} ${theirGrade} (or more urgent), or compose a runbook graded ${myGrade} or less urgent`,
    );
  return { bundle: loaded.bundle };
}

/** The first problem with its place, and how many more: the composed runbook's own validate says all. */
function listed(problems: readonly Problem[], name: string): string {
  const more = problems.length - 1;
  return `${formatProblem(problems[0]!)}${more ? ` (and ${more} more: opsbook validate ${name})` : ''}`;
}

interface LibraryEntry {
  name: string;
  version: string;
  dir: string;
}

/** What a range picks among the versions of a name. */
interface Choice {
  entries: LibraryEntry[];
  /** Oldest first. */
  versions: string[];
  /** The highest version the range allows; null for none. */
  chosen: string | null;
}

/**
 * The runbooks a composite may compose: every folder of the library whose package.json names a
 * runbook and a version. Read once per resolution (or per catalog, through
 * ResolveOptions.libraries), and only when a runbook composes another.
 */
export class Library {
  private entries: Promise<LibraryEntry[]> | undefined;
  private readonly loads = new Map<string, Promise<LoadResult>>();
  private readonly digests = new Map<string, Promise<BundleDigest>>();
  private readonly reads = new Map<string, Promise<unknown>>();
  private readonly choices = new Map<string, Promise<Choice | undefined>>();
  readonly shown: string;
  readonly checkOnly: boolean;
  private readonly texts: ReadonlyMap<string, string> | undefined;

  constructor(
    readonly dir: string,
    private readonly cwd: string,
    private readonly loadDir: (dir: string) => Promise<LoadResult>,
    options: Pick<ResolveOptions, 'checkOnly' | 'texts'> = {},
  ) {
    this.shown = this.show(dir);
    this.checkOnly = options.checkOnly === true;
    this.texts = options.texts;
  }

  show(dir: string): string {
    return path.relative(this.cwd, dir) || '.';
  }

  async entriesOf(name: string): Promise<LibraryEntry[]> {
    return (await this.all()).filter((e) => e.name === name);
  }

  /**
   * The versions of `name` here and the one `range` picks; undefined when `range` is not a
   * range. Worked out once per name and range: a catalog's composites mostly compose the same few.
   */
  choose(name: string, range: string): Promise<Choice | undefined> {
    return cachedUnlessRejected(this.choices, `${name}\u0000${range}`, async () => {
      if (!validRange(range)) return undefined;
      const entries = await this.entriesOf(name);
      const versions = entries.map((e) => e.version).sort(compareVersions);
      return { entries, versions, chosen: maxSatisfying(versions, range) };
    });
  }

  async names(): Promise<string[]> {
    return [...new Set((await this.all()).map((e) => e.name))].sort();
  }

  load(dir: string): Promise<LoadResult> {
    return cachedUnlessRejected(this.loads, dir, this.loadDir);
  }

  digest(bundle: RunbookBundle): Promise<BundleDigest> {
    return cachedUnlessRejected(this.digests, bundle.dir, () => digestRunbook(bundle.dir, bundle));
  }

  /** The files `digest` would hash, read and checked once per folder (ResolveOptions.checkOnly). */
  readFiles(bundle: RunbookBundle): Promise<unknown> {
    return cachedUnlessRejected(this.reads, bundle.dir, readBundleFiles);
  }

  private all(): Promise<LibraryEntry[]> {
    this.entries ??= findRunbookDirs(this.dir).then((dirs) => {
      // Most runbooks of a library share a few versions: each is parsed once.
      const validity = new Map<string, boolean>();
      const isValid = (version: string) => {
        let valid = validity.get(version);
        if (valid === undefined) {
          valid = validVersion(version) !== null;
          validity.set(version, valid);
        }
        return valid;
      };
      return dirs.flatMap((dir) => {
        const entry = packageOf(dir, this.texts, isValid);
        return entry ? [entry] : [];
      });
    });
    return this.entries;
  }
}

/**
 * The runbook name and version a folder's package.json declares; undefined for one that does
 * not (its own validation says why). Its text from `texts` when the catalog read it already.
 */
function packageOf(
  dir: string,
  texts: ReadonlyMap<string, string> | undefined,
  isValid: (version: string) => boolean,
): LibraryEntry | undefined {
  try {
    // `dir` is as findRunbookDirs joined it: no need to normalize it again.
    const file = `${dir}${path.sep}package.json`;
    const pkg = JSON.parse(texts?.get(file) ?? readFileSync(file, 'utf8')) as unknown;
    if (!pkg || typeof pkg !== 'object') return undefined;
    const { name, version } = pkg as { name?: unknown; version?: unknown };
    if (typeof name !== 'string' || !name.startsWith(RUNBOOK_SCOPE)) return undefined;
    if (typeof version !== 'string' || !isValid(version)) return undefined;
    return { name: name.slice(RUNBOOK_SCOPE.length), version, dir };
  } catch {
    return undefined;
  }
}
