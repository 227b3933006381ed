import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { curationErrors } from '../error-codes.js';

/**
 * ShellCheck (https://www.shellcheck.net), run as the real program: `--format=json1` (columns
 * count a tab as one character, like opsbook's), `--shell=sh` (the runner runs run: blocks with
 * `sh -c` and scripts with `sh FILE`, whatever their #! line), `--norc` (the same checks on every
 * machine: a ~/.shellcheckrc would apply to scripts but not to run: blocks, which are checked
 * from temporary files). Several files per process, a few processes side by side.
 */

/** One finding as json1 gives it (lines and columns 1-based; the end column exclusive). */
export interface ShellCheckComment {
  file: string;
  line: number;
  endLine: number;
  column: number;
  endColumn: number;
  level: 'error' | 'warning' | 'info' | 'style';
  code: number;
  message: string;
}

/** Files per ShellCheck process: enough to pay its start-up once per many files. */
const FILES_PER_PROCESS = 100;

/** The ShellCheck version (`0.9.0`) of `program`; throws SHELLCHECK_MISSING when there is none. */
export async function shellCheckVersion(program: string, signal?: AbortSignal): Promise<string> {
  const { stdout } = await runProgram(program, ['--version'], signal);
  const version = /^version:\s*(\S+)/m.exec(stdout)?.[1];
  if (!version)
    throw new curationErrors.WorkFailedError(
      'SHELLCHECK_FAILED',
      `${program} --version did not say its version (${firstLine(stdout)}): is it ShellCheck?`,
    );
  return version;
}

/** ShellCheck's findings in `files` (paths of shell scripts to check as sh). */
export async function runShellCheck(
  program: string,
  files: readonly string[],
  signal?: AbortSignal,
): Promise<ShellCheckComment[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += FILES_PER_PROCESS)
    chunks.push(files.slice(i, i + FILES_PER_PROCESS));
  const results: ShellCheckComment[][] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < chunks.length; k = next++)
      results[k] = await checkChunk(program, chunks[k]!, signal);
  };
  await Promise.all(
    Array.from({ length: Math.min(chunks.length, availableParallelism()) }, worker),
  );
  return results.flat();
}

async function checkChunk(
  program: string,
  files: readonly string[],
  signal?: AbortSignal,
): Promise<ShellCheckComment[]> {
  const args = ['--format=json1', '--shell=sh', '--norc', '--', ...files];
  // Exit 1 means "found something": the findings are on stdout all the same.
  const { stdout, stderr } = await runProgram(program, args, signal, [0, 1]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  const comments = (parsed as { comments?: unknown } | undefined)?.comments;
  if (!Array.isArray(comments))
    throw new curationErrors.WorkFailedError(
      'SHELLCHECK_FAILED',
      `${program} gave no json1 result (${firstLine(stderr || stdout)}): opsbook lint needs ShellCheck 0.7 or later`,
    );
  return comments as ShellCheckComment[];
}

function runProgram(
  program: string,
  args: readonly string[],
  signal: AbortSignal | undefined,
  okCodes: readonly number[] = [0],
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', ...(signal ? { signal } : {}) },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        if (!error || (typeof code === 'number' && okCodes.includes(code)))
          return resolve({ stdout, stderr });
        if (code === 'ENOENT' || code === 'EACCES')
          return reject(
            new curationErrors.WorkFailedError(
              'SHELLCHECK_MISSING',
              `ShellCheck is needed to lint scripts and run: blocks, and ${program === 'shellcheck' ? 'there is no shellcheck on PATH' : `${program} (OPSBOOK_SHELLCHECK) cannot be run`}: install it (Debian/Ubuntu: apt-get install shellcheck; Fedora: dnf install ShellCheck; macOS: brew install shellcheck), or set OPSBOOK_SHELLCHECK to its path`,
              { program },
            ),
          );
        if (error.name === 'AbortError') return reject(error);
        reject(
          new curationErrors.WorkFailedError(
            'SHELLCHECK_FAILED',
            `${program} failed (exit ${String(code)}): ${firstLine(stderr || error.message)}`,
            { program },
          ),
        );
      },
    );
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) || 'no output';
}
