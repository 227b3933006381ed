import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { walkBundle } from './bundle-files.js';
import { type ActionSpec, checkRunbookSemantics, checkScripts } from './check-runbook.js';
import { checkRunbookText, packageTextRules, runbookTextRules } from './check-runbook-text.js';
import { ValidationError } from './errors.js';
import { validateRunbook } from './generated/validators.js';
import { parseJsonSource } from './json-source.js';
import type { Problem } from './problem.js';
import type { Runbook } from './runbook-schema.js';
import { schemaProblems, type Validator } from './schema-problems.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export const RUNBOOK_FILE = 'runbook.yaml';
export const RUNBOOK_SCOPE = '@runbooks/';

/** A runbook folder that loaded and passed every check. */
export interface RunbookBundle {
  /** Absolute path of the runbook folder. */
  dir: string;
  /** `@runbooks/<name>`. */
  packageName: string;
  name: string;
  version: string;
  runbook: Runbook;
  /** Path of runbook.yaml as shown to the user. */
  file: string;
  source: YamlSource;
  /**
   * What was parsed, by path in the folder (`package.json`, `runbook.yaml`): the text or bytes as
   * read. The digest compares them with the bytes it hashes, so a file swapped between the parse
   * and the digest cannot run under a digest of other bytes (digestRunbook).
   */
  parsed: Readonly<Record<string, string | Buffer>>;
}

export type LoadResult =
  | { ok: true; bundle: RunbookBundle; problems: [] }
  | { ok: false; problems: Problem[]; dir: string };

export interface LoadOptions {
  /** Built-in actions that `uses:` may name. */
  actions?: ReadonlyMap<string, ActionSpec>;
  /** Folder that file names in problems are shown relative to; default: process.cwd(). */
  cwd?: string;
  /**
   * Where to keep the text of each file read, by path: give one map to all the loads of a
   * catalog, and another reader of the same files (the library that composed runbooks are
   * resolved in) need not read them again.
   */
  texts?: Map<string, string>;
}

const runbookValidator = validateRunbook as unknown as Validator<Runbook>;

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Load a runbook folder (package.json + runbook.yaml) and report every problem with file:line:col. */
export async function loadRunbook(
  dirInput: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const { dir, shown } = placeOf(dirInput, cwd);
  const show = (f: string) => (shown ? `${shown}${path.sep}${f}` : f);
  // What the digest (show, plan, approve) refuses, validate refuses too: a symlink anywhere in
  // the folder, a name that is not UTF-8 (bundle-files.ts, the one rule for both). After the
  // files' own problems, with every failure.
  const { problems: folder, files } = folderProblems(dir, shown);
  const fail = (problems: Problem[]): LoadResult => ({
    ok: false,
    problems: folder.length ? [...problems, ...folder] : problems,
    dir,
  });

  const pkgFile = show('package.json');
  const ymlFile = show(RUNBOOK_FILE);
  // What path.join(dir, name) gives, without normalizing `dir` again: path.resolve just did.
  const inDir = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
  const pkgRead = readSmall(`${inDir}package.json`, options.texts);
  const ymlRead = readSmall(`${inDir}${RUNBOOK_FILE}`, options.texts);
  const problems: Problem[] = [];
  if ('code' in ymlRead) problems.push(missing(ymlFile, ymlRead.code, 'the runbook definition'));
  if ('code' in pkgRead)
    problems.push(missing(pkgFile, pkgRead.code, 'the runbook package manifest'));
  if ('code' in ymlRead || 'code' in pkgRead) return fail(problems);

  const pkgSource = parseJsonSource(pkgFile, pkgRead.input);
  const pkgText = checkRunbookText(pkgSource, packageTextRules);
  const pkg: PackageInfo = pkgText.length ? { problems: pkgText } : checkPackageJson(pkgSource);
  problems.push(...pkg.problems);

  const source = parseYamlSource(ymlFile, ymlRead.input);
  // Control characters first: one can be what made the parse fail.
  const text = checkRunbookText(source, runbookTextRules);
  if (text.length) return fail([...problems, ...text]);
  if (source.problems.length) return fail([...problems, ...source.problems]);
  if (!runbookValidator(source.value)) {
    return fail([...problems, ...schemaProblems(source, runbookValidator.errors)]);
  }
  const runbook = source.value;

  // The walk's files: each script's path is then checked without an lstat per segment (~600
  // system calls for 200 runbooks).
  const ctx = { source, runbook, dir, actions: options.actions ?? new Map(), files };
  problems.push(...(await checkRunbookSemantics(ctx)), ...checkScripts(ctx));

  if (pkg.name !== undefined && runbook.metadata.name !== pkg.name) {
    problems.push({
      file: ymlFile,
      ...source.locate(['metadata', 'name']),
      rule: 'name-mismatch',
      message: `metadata.name is '${runbook.metadata.name}' but the package is '${RUNBOOK_SCOPE}${pkg.name}': they must be equal (rename one)`,
    });
  }
  if (problems.length || folder.length || pkg.name === undefined || pkg.version === undefined)
    return fail(problems);
  return {
    ok: true,
    problems: [],
    bundle: {
      dir,
      packageName: `${RUNBOOK_SCOPE}${pkg.name}`,
      name: pkg.name,
      version: pkg.version,
      runbook,
      file: ymlFile,
      source,
      parsed: { 'package.json': pkgRead.input, [RUNBOOK_FILE]: ymlRead.input },
    },
  };
}

/**
 * The problems of the folder as a bundle, each at the entry (its path from the cwd) with what to
 * do. A folder that cannot be listed because it is not there, or is a file, is left to the reads
 * of package.json and runbook.yaml, which say so.
 */
function folderProblems(dir: string, shown: string): { problems: Problem[]; files: Set<string> } {
  const { files, refusals } = walkBundle(dir);
  const problems: Problem[] = [];
  for (const r of refusals) {
    if (r.rel === '' && (r.code === 'ENOENT' || r.code === 'ENOTDIR')) continue;
    const rel = r.rel.split('/').join(path.sep);
    problems.push({
      file: shown && rel ? `${shown}${path.sep}${rel}` : rel || shown || '.',
      line: 0,
      col: 0,
      rule: r.rule,
      message: r.message,
    });
  }
  return { problems, files: new Set(files) };
}

/**
 * The runbook folder's absolute path (path.resolve) and its path from `cwd` (path.relative, once
 * for both files; the absolute path for a folder outside `cwd`). A folder as findRunbookDirs lists it under a normal `cwd` needs neither: each
 * normalizes its paths anew, and cold, for every runbook of a catalog, that showed.
 */
function placeOf(dirInput: string, cwd: string): { dir: string; shown: string } {
  if (path.sep === '/' && isNormalAbsolute(dirInput) && isNormalAbsolute(cwd)) {
    if (dirInput === cwd) return { dir: dirInput, shown: '' };
    const under = cwd === '/' ? cwd : `${cwd}/`;
    if (dirInput.startsWith(under)) return { dir: dirInput, shown: dirInput.slice(under.length) };
  }
  const dir = path.resolve(cwd, dirInput);
  // A folder outside `cwd` by its absolute path: `../../tmp/x/runbook.yaml` is harder to read.
  const rel = path.relative(cwd, dir);
  return { dir, shown: rel.split(path.sep)[0] === '..' || path.isAbsolute(rel) ? dir : rel };
}

/** An empty, '.' or '..' segment, or a separator at the end. */
const abnormalSegment = /\/\.{0,2}(?:\/|$)/;

/** A POSIX path that path.resolve gives back as it is: absolute and normal. */
function isNormalAbsolute(p: string): boolean {
  return p === '/' || (p.charCodeAt(0) === 0x2f && !abnormalSegment.test(p));
}

interface PackageInfo {
  name?: string | undefined;
  version?: string | undefined;
  problems: Problem[];
}

function checkPackageJson(src: YamlSource): PackageInfo {
  if (src.problems.length) return { problems: src.problems };
  const problems: Problem[] = [];
  const pkg = src.value as Record<string, unknown>;
  if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) {
    return {
      problems: [
        {
          file: src.file,
          line: 1,
          col: 1,
          rule: 'wrong-type',
          message: 'package.json must hold a JSON object',
        },
      ],
    };
  }
  let name: string | undefined;
  if (typeof pkg.name !== 'string' || !pkg.name.startsWith(RUNBOOK_SCOPE)) {
    problems.push({
      file: src.file,
      ...src.locate(['name']),
      rule: 'package-name',
      message: `package name must be '${RUNBOOK_SCOPE}<runbook name>', not ${JSON.stringify(pkg.name)}`,
    });
  } else {
    name = pkg.name.slice(RUNBOOK_SCOPE.length);
  }
  let version: string | undefined;
  if (typeof pkg.version !== 'string' || !SEMVER.test(pkg.version)) {
    problems.push({
      file: src.file,
      ...src.locate(['version']),
      rule: 'bad-version',
      message: `version must be a semantic version such as 1.2.0, not ${JSON.stringify(pkg.version)}: changesets bumps it for you`,
    });
  } else {
    version = pkg.version;
  }
  if (pkg.scripts !== undefined)
    problems.push({
      file: src.file,
      ...src.locate(['scripts']),
      rule: 'package-scripts',
      message:
        'a runbook package.json may not have "scripts": pnpm install runs a workspace package\'s install scripts (postinstall…) on every checkout that installs the repository, runners included, with no approval; remove them and put the commands in runbook.yaml\'s steps',
    });
  if (pkg.private !== true) {
    problems.push({
      file: src.file,
      ...src.locate(['private']),
      rule: 'not-private',
      message:
        'a runbook package must be "private": true so that it is never published to a registry',
    });
  }
  return { name, version, problems };
}

/**
 * Read a runbook file. Synchronously on purpose: these are small local files, and a promise per
 * read through libuv's thread pool cost validate more than the reads themselves (measured with
 * 200 runbooks: 32 ms of promise machinery for 400 reads). As text first, in one call that also
 * decodes. V8 turns each byte that is not UTF-8 into U+FFFD, so a text holding one (or a read
 * that fails) is read again as bytes, as before: decodeSourceText then gives the exact problem,
 * and a failure its error code. The text goes into `texts` as read, U+FFFD and all.
 */
function readSmall(
  file: string,
  texts: Map<string, string> | undefined,
): { input: string | Buffer } | { code: string } {
  try {
    const text = readFileSync(file, 'utf8');
    texts?.set(file, text);
    if (!text.includes('\ufffd')) return { input: text };
  } catch {
    // The read as bytes below says what is wrong.
  }
  try {
    return { input: readFileSync(file) };
  } catch (e) {
    return { code: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}

function missing(file: string, code: string, what: string): Problem {
  const why =
    code === 'ENOENT'
      ? 'is missing'
      : code === 'EISDIR'
        ? 'is a folder'
        : `cannot be read (${code})`;
  const base = path.basename(file);
  return {
    file,
    line: 0,
    col: 0,
    rule: 'missing-file',
    message: `file ${why}: every runbook folder needs ${base} (${what})`,
  };
}

/**
 * The runbook folders under `runbooksDir` (every folder that holds a runbook.yaml or package.json).
 * A folder that is not there is an empty catalog only when nobody named it (the default
 * `runbooks/` of a new repository); one that opsbook.yaml names (`namedAt`) must exist, or a typo
 * there would let `opsbook validate` pass a CI gate on no runbook at all.
 */
export async function findRunbookDirs(
  runbooksDir: string,
  namedAt?: FolderNamedAt,
): Promise<string[]> {
  let entries: Dirent[];
  try {
    // Synchronously, as the runbooks are read: no fs/promises for a command that needs no more.
    entries = readdirSync(runbooksDir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !namedAt) return [];
    throw new ValidationError([unreadableRunbooksFolder(runbooksDir, code, namedAt)]);
  }
  const dirs: string[] = [];
  // path.join(runbooksDir, name) for every folder, with runbooksDir normalized once, not per
  // folder (cold, that was most of this function): a name from readdir holds no separator, and
  // those starting with '.' are left out, so the join is the same text before each name.
  const prefix = path.join(runbooksDir, 'x').slice(0, -1);
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const dir = prefix + entry.name;
    // The entry's own type, from readdir, saves a stat per folder; a symlink is followed as before.
    if (
      entry.isDirectory() ||
      (entry.isSymbolicLink() && statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    )
      dirs.push(dir);
  }
  return dirs;
}

/** Where a folder is named: the value of a key in a file (opsbook.yaml's `runbooks:`). */
export interface FolderNamedAt {
  file: string;
  /** The path as written there. */
  value: string;
  /** Its line and column, worked out only for a problem (a strict parse of the file). */
  locate(): { line: number; col: number };
}

function unreadableRunbooksFolder(
  dir: string,
  code: string | undefined,
  namedAt: FolderNamedAt | undefined,
): Problem {
  const shown = path.resolve(dir);
  const folder = namedAt ? `the runbooks folder '${namedAt.value}'` : 'the runbooks folder';
  const message =
    code === 'ENOENT'
      ? `${folder} does not exist (${shown}): correct the path, or create the folder`
      : code === 'ENOTDIR'
        ? `${folder} is a file, not a folder (${shown}): name the folder that holds the runbooks`
        : code === 'ELOOP'
          ? `${folder} is a symbolic link that goes round in a loop (${shown}): repair the link (ls -l shows where it points), or name the real folder`
          : `cannot read ${folder} (${code ?? 'unknown error'}, ${shown}): give the user running opsbook read access to it`;
  return namedAt
    ? { file: namedAt.file, ...namedAt.locate(), rule: 'missing-file', message }
    : {
        file: path.relative(process.cwd(), shown) || shown,
        line: 0,
        col: 0,
        rule: 'missing-file',
        message,
      };
}
