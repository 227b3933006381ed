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

/**
 * How long one ShellCheck process may take by default: a minute, and a second more per file it
 * checks (a full chunk: 100 files, 160 s). ShellCheck takes well under a second a file; one that
 * takes longer hangs, and lint without a bound would wait for it forever (a CI job until its
 * own timeout, with nothing said).
 */
export const SHELLCHECK_TIMEOUT_MS = { base: 60_000, perFile: 1_000 } as const;

export interface ShellCheckLimits {
  signal?: AbortSignal | undefined;
  /** How long one ShellCheck process may run, in ms; default SHELLCHECK_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
  /** A file given to ShellCheck as the user knows it (a run: block is a temporary file). */
  shown?: ((file: string) => string) | undefined;
}

function timeoutFor(limits: ShellCheckLimits, files: number): number {
  return limits.timeoutMs ?? SHELLCHECK_TIMEOUT_MS.base + SHELLCHECK_TIMEOUT_MS.perFile * files;
}

/** The ShellCheck version (`0.9.0`) of `program`; throws SHELLCHECK_MISSING when there is none. */
export async function shellCheckVersion(
  program: string,
  limits: ShellCheckLimits = {},
): Promise<string> {
  const { stdout } = await runProgram(program, ['--version'], limits.signal, [0], {
    ms: timeoutFor(limits, 0),
    what: 'answer --version',
  });
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
  limits: ShellCheckLimits = {},
): Promise<ShellCheckComment[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += FILES_PER_PROCESS)
    chunks.push(files.slice(i, i + FILES_PER_PROCESS));
  const results: ShellCheckComment[][] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < chunks.length; k = next++)
      results[k] = await checkChunk(program, chunks[k]!, limits);
  };
  await Promise.all(
    Array.from({ length: Math.min(chunks.length, availableParallelism()) }, worker),
  );
  return results.flat();
}

async function checkChunk(
  program: string,
  files: readonly string[],
  limits: ShellCheckLimits,
): Promise<ShellCheckComment[]> {
  const args = ['--format=json1', '--shell=sh', '--norc', '--', ...files];
  const shown = [...new Set(files.map((f) => limits.shown?.(f) ?? f))];
  const what = `check ${shown.length === 1 ? shown[0] : `${shown.length} files (${shown.slice(0, 3).join(', ')}${shown.length > 3 ? ', …' : ''})`}`;
  // Exit 1 means "found something": the findings are on stdout all the same.
  const { stdout, stderr } = await runProgram(program, args, limits.signal, [0, 1], {
    ms: timeoutFor(limits, files.length),
    what,
  });
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

/**
 * Run `program` and take its output. After `timeout.ms` the process is killed (SIGKILL: one that
 * hangs may ignore SIGTERM) and a SHELLCHECK_FAILED says what it was doing, without waiting for
 * the pipes to close (a child it left behind may hold them open).
 */
function runProgram(
  program: string,
  args: readonly string[],
  signal: AbortSignal | undefined,
  okCodes: readonly number[],
  timeout: { ms: number; what: string },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => settle(() => reject(e));
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    const child = execFile(
      program,
      args,
      { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', ...(signal ? { signal } : {}) },
      (error, stdout, stderr) => {
        if (settled) return;
        const code = (error as { code?: unknown } | null)?.code;
        if (!error || (typeof code === 'number' && okCodes.includes(code)))
          return settle(() => resolve({ stdout, stderr }));
        if (code === 'ENOENT' || code === 'EACCES')
          return fail(
            new curationErrors.WorkFailedError(
              'SHELLCHECK_MISSING',
              `ShellCheck is needed to lint scripts and run: blocks, and ${program === 'shellcheck' ? 'there is no shellcheck on PATH' : `${program} (OPSBOOK_SHELLCHECK) cannot be run`}: install it (Debian/Ubuntu: apt-get install shellcheck; Fedora: dnf install ShellCheck; macOS: brew install shellcheck), or set OPSBOOK_SHELLCHECK to its path`,
              { program },
            ),
          );
        if (error.name === 'AbortError') return fail(error);
        fail(
          new curationErrors.WorkFailedError(
            'SHELLCHECK_FAILED',
            `${program} failed (exit ${String(code)}): ${firstLine(stderr || error.message)}`,
            { program },
          ),
        );
      },
    );
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      const seconds = Math.round(timeout.ms / 100) / 10;
      fail(
        new curationErrors.WorkFailedError(
          'SHELLCHECK_FAILED',
          `ShellCheck (${program}) did not ${timeout.what} within ${seconds} s and was stopped: it hangs, or this machine is overloaded; update or reinstall ShellCheck (or point OPSBOOK_SHELLCHECK at a working one), or give it longer with OPSBOOK_SHELLCHECK_TIMEOUT=SECONDS`,
          { program, timeoutMs: timeout.ms },
        ),
      );
    }, timeout.ms);
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) || 'no output';
}
