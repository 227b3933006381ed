import { constants } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createFileAtomic,
  decodeSourceText,
  type LoadResult,
  makeDirectory,
  type Problem,
} from '@opsbook/schema';
import { curationErrors } from '../error-codes.js';
import type { LintFinding } from '../lint/lint-finding.js';
import { lintRunbooks } from '../lint/lint-runbooks.js';
import {
  checkRunbookName,
  checkRunbookTitle,
  scaffoldChoices,
} from '../scaffold/runbook-package.js';
import { holdsNoCommand } from '../script-empty.js';
import { findChangesetHome } from './changeset-home.js';
import {
  isShellInterpreter,
  type Promotion,
  planPromotion,
  readShebang,
} from './promote-runbook.js';
import type { DetectedParam } from './script-interface.js';

/**
 * `opsbook promote SCRIPT --name NAME`: makes a runbook package of an ad-hoc script and proves
 * it valid before anything is written where it stays. The runbook is made in a temporary folder,
 * loaded (the caller's loader: the runner's, which knows the built-in actions) and linted with
 * the real ShellCheck; only a runbook that loads and has no lint error is copied into the
 * runbooks folder, with its changeset in the workspace that owns that folder. What ShellCheck finds in the script points at the
 * script's own lines.
 */

export interface PromoteOptions {
  /** The script, as the user named it. */
  script: string;
  name: string;
  title?: string;
  description?: string;
  category?: string;
  grade?: string;
  /** Where runbook folders live (`--out`, default the repository's runbooks/). */
  runbooksDir: string;
  load: (dir: string) => Promise<LoadResult>;
  shellcheck?: string;
  /** How long one ShellCheck process may run, in ms (LintOptions.shellcheckTimeoutMs). */
  shellcheckTimeoutMs?: number;
  cwd?: string;
  signal?: AbortSignal;
}

export interface PromoteResult {
  name: string;
  /** The runbook folder made. */
  dir: string;
  /** Every file written, absolute. */
  files: string[];
  /**
   * The changeset of its first version, in the .changeset/ of the pnpm workspace that owns the
   * runbook's folder; undefined when no workspace takes the folder as a package (a note says why).
   */
  changeset?: string;
  params: DetectedParam[];
  notes: string[];
  /**
   * Lint's findings on the new runbook: warnings and info, and no error but the scaffold's own
   * TODO postcheck of a change runbook (`scaffold-todo`), which fails lint until it is written.
   */
  findings: LintFinding[];
  shellcheck: string;
}

export async function promoteScript(options: PromoteOptions): Promise<PromoteResult> {
  const cwd = options.cwd ?? process.cwd();
  checkRunbookName(options.name);
  const choices = scaffoldChoices(options.category, options.grade);
  if (options.title !== undefined) checkRunbookTitle(options.title);
  const scriptPath = path.resolve(cwd, options.script);
  const scriptText = await readScript(options.script, scriptPath, options.name);
  const dir = path.join(options.runbooksDir, options.name);
  const home = await findChangesetHome(dir, options.name, (f) => path.relative(cwd, f) || '.');
  const changesetFile = home.kind === 'workspace' ? home.file : undefined;
  await refuseExisting(options.name, dir, changesetFile, cwd);

  const promotion = planPromotion({
    name: options.name,
    scriptName: path.basename(scriptPath),
    scriptText,
    ...choices,
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
  });
  if (promotion.problems.length)
    throw new curationErrors.ValidationError(
      promotion.problems.map((p) => ({
        file: options.script,
        line: p.line,
        col: p.col,
        rule: 'script-arguments-ambiguous',
        message: `${p.message}; nothing was written`,
      })),
      'SCRIPT_ARGUMENTS_AMBIGUOUS',
    );
  const stage = await mkdtemp(path.join(tmpdir(), 'opsbook-promote-'));
  try {
    await writePromotion(stage, promotion);
    const findings = await proveValid(stage, promotion, options);
    const files = await placePromotion(stage, dir, promotion, options.name, cwd);
    if (changesetFile) {
      await makeDirectory(path.dirname(changesetFile));
      if (!(await createFileAtomic(changesetFile, promotion.changeset.text, { mode: 0o644 }))) {
        await rm(dir, { recursive: true, force: true });
        throw existsError(options.name, changesetFile, cwd);
      }
    }
    // Kept executable when it was, so that it still runs by hand from the runbook folder.
    if ((await stat(scriptPath)).mode & 0o111)
      await chmod(path.join(dir, ...promotion.script.split('/')), 0o755);
    return {
      name: options.name,
      dir,
      files: changesetFile ? [...files, changesetFile] : files,
      ...(changesetFile ? { changeset: changesetFile } : {}),
      params: promotion.params,
      notes: home.kind === 'none' ? [...promotion.notes, home.reason] : promotion.notes,
      // runbook.yaml as the user finds it, not as it was staged.
      findings: findings.map((f) =>
        f.file === 'runbook.yaml'
          ? { ...f, file: path.relative(cwd, path.join(dir, 'runbook.yaml')) || f.file }
          : f,
      ),
      shellcheck: options.shellcheck ?? 'shellcheck',
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function readScript(shown: string, file: string, name: string): Promise<string> {
  const info = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (info instanceof Error) {
    const code = info.code ?? 'EIO';
    throw new curationErrors.ValidationError(
      [
        problem(
          shown,
          'script-missing',
          code === 'ENOENT' || code === 'ENOTDIR'
            ? 'there is no such script: give the path of the shell script to promote'
            : `the script cannot be read (${code})`,
        ),
      ],
      'SCRIPT_MISSING',
    );
  }
  if (!info.isFile())
    throw new curationErrors.ValidationError(
      [
        problem(
          shown,
          'script-not-file',
          info.isDirectory()
            ? await folderAdvice(file, shown, name)
            : 'is not a regular file: give the shell script itself',
        ),
      ],
      'SCRIPT_NOT_FILE',
    );
  const decoded = decodeSourceText(shown, await readFile(file));
  if ('problem' in decoded)
    throw new curationErrors.ValidationError(
      [
        {
          ...decoded.problem,
          message: `${decoded.problem.message} — this is not a shell script opsbook can promote`,
        },
      ],
      'SCRIPT_NOT_TEXT',
    );
  const text = decoded.text;
  const shebang = readShebang(text);
  if (shebang && !isShellInterpreter(shebang.interpreter))
    throw new curationErrors.ValidationError(
      [
        {
          file: shown,
          line: 1,
          col: 1,
          rule: 'script-not-shell',
          message: `its #! names ${shebang.interpreter || 'no program'}, not a shell: opsbook runs scripts with sh; wrap the program in a shell script (e.g. exec python3 …) and promote that`,
        },
      ],
      'SCRIPT_NOT_SHELL',
    );
  if (holdsNoCommand(text))
    throw new curationErrors.ValidationError(
      [problem(shown, 'script-empty', 'holds no command (only comments or blank lines)')],
      'SCRIPT_NOT_SHELL',
    );
  return text;
}

function problem(file: string, rule: string, message: string): Problem {
  return { file, line: 0, col: 0, rule, message };
}

function existsError(name: string, where: string, cwd: string) {
  return new curationErrors.OpsbookError(
    'invalid',
    'RUNBOOK_EXISTS',
    `${path.relative(cwd, where) || where} already exists: a runbook named ${name} is there or being made; choose another --name, or edit that runbook`,
    { name },
  );
}

async function refuseExisting(
  name: string,
  dir: string,
  changeset: string | undefined,
  cwd: string,
): Promise<void> {
  for (const where of changeset ? [dir, changeset] : [dir])
    if (
      await stat(where).then(
        () => true,
        () => false,
      )
    )
      throw existsError(name, where, cwd);
}

async function writePromotion(dir: string, promotion: Promotion): Promise<void> {
  for (const f of promotion.files) {
    const file = path.join(dir, ...f.path.split('/'));
    await makeDirectory(path.dirname(file));
    await writeFile(file, f.text);
  }
}

/**
 * What to do with a folder of scripts: promote the one that is run, its helpers pasted into it,
 * since the runner copies only a step's own script to the host (lint: script-sibling-file).
 */
async function folderAdvice(dir: string, shown: string, name: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const scripts = entries
    .filter((e) => e.isFile() && /\.(?:sh|bash)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  if (!scripts.length) return 'is a folder, with no .sh script in it: give the shell script itself';
  const listed =
    scripts.length > 5
      ? `${scripts.slice(0, 5).join(', ')} and ${scripts.length - 5} more`
      : scripts.length === 1
        ? scripts[0]
        : `${scripts.slice(0, -1).join(', ')} or ${scripts[scripts.length - 1]}`;
  // The folder's namesake (fix-nfs/fix-nfs.sh) is likely the one that is run.
  const example =
    scripts.find((s) => s.replace(/\.(?:sh|bash)$/, '') === path.basename(dir)) ?? scripts[0]!;
  return `is a folder: promote takes one script, the one that is run (here ${listed}): give its path, e.g. opsbook promote ${path.join(shown, example)} --name ${name}; the runner copies only that script to the host, so first paste into it what it needs from the others (the functions and settings it sources)`;
}

/** Loads and lints the staged runbook: its warnings, or PROMOTED_RUNBOOK_INVALID. */
async function proveValid(
  stage: string,
  promotion: Promotion,
  options: PromoteOptions,
): Promise<LintFinding[]> {
  const loaded = await options.load(stage);
  if (!loaded.ok)
    throw new curationErrors.ValidationError(
      loaded.problems.map((p) => ({
        ...p,
        message: `the runbook made from the script and the options does not validate (nothing was written): ${p.message}; if the cause is the script's name or its header comment, rename it or edit the comment (or give --title); else it is a bug of opsbook promote, please report it`,
      })),
      'PROMOTED_RUNBOOK_INVALID',
    );
  const report = await lintRunbooks([loaded.bundle], {
    ...(options.shellcheck ? { shellcheck: options.shellcheck } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.shellcheckTimeoutMs !== undefined
      ? { shellcheckTimeoutMs: options.shellcheckTimeoutMs }
      : {}),
  });
  const findings = (report.runbooks[0]?.findings ?? [])
    .filter((f) => !f.suppressed)
    .map((f) => inOriginal(f, stage, promotion, options.script));
  // The TODO postcheck promote writes is for the expert to write: lint fails on it until then.
  const errors = findings.filter((f) => f.severity === 'error' && f.rule !== 'scaffold-todo');
  if (errors.length)
    throw new curationErrors.ValidationError(
      [
        ...errors.map((f) => ({
          file: f.file,
          line: f.line,
          col: f.col,
          rule: f.rule,
          message: `${f.rule}: ${f.message}`,
        })),
        problem(
          options.script,
          'promote-refused',
          `opsbook lint would fail on the runbook made from it (${errors.length} error${errors.length === 1 ? '' : 's'} above): fix the script and promote it again; nothing was written`,
        ),
      ],
      'PROMOTED_RUNBOOK_INVALID',
    );
  return findings;
}

/** A finding in the promoted script, moved to the line of the script the user gave. */
function inOriginal(
  f: LintFinding,
  stage: string,
  promotion: Promotion,
  script: string,
): LintFinding {
  // Findings name files as the loader showed them (relative to its cwd): the staging folder's
  // unique name tells the promoted script from anything else.
  const promoted = path.join(path.basename(stage), ...promotion.script.split('/'));
  if (!f.file.endsWith(promoted)) return { ...f, file: path.basename(f.file) };
  const line = promotion.originalLine(f.line);
  const endLine = promotion.originalLine(f.endLine);
  if (line === undefined) {
    // Not a line of the user's script: shown at the one of theirs these lines go before.
    const before = promotion.addedBefore(f.line);
    return {
      ...f,
      file: script,
      line: before,
      col: 1,
      endLine: before,
      endCol: 1,
      message: `${f.message} (in the lines opsbook promote adds before this one)`,
    };
  }
  return { ...f, file: script, line, endLine: endLine ?? line };
}

/** Copies the staged runbook into `dir`, made here so that two promotions cannot share it. */
async function placePromotion(
  stage: string,
  dir: string,
  promotion: Promotion,
  name: string,
  cwd: string,
): Promise<string[]> {
  await makeDirectory(path.dirname(dir));
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(name, dir, cwd);
    throw e;
  }
  const written: string[] = [];
  for (const f of promotion.files) {
    const to = path.join(dir, ...f.path.split('/'));
    await makeDirectory(path.dirname(to));
    await copyFile(path.join(stage, ...f.path.split('/')), to, constants.COPYFILE_EXCL);
    written.push(to);
  }
  return written;
}
