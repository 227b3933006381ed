import { spawn } from 'node:child_process';
import path from 'node:path';

export const binPath = path.resolve(import.meta.dirname, '../dist/bin.js');
export const repoRoot = path.resolve(import.meta.dirname, '../../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The test process's environment without NODE_PATH: pnpm's bin shims (npx vitest, pnpm test) set
 * it to the store's hoisted node_modules, which would let the binary load a package the CLI does
 * not declare, and that a user's install would not have.
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { NODE_PATH: _hidden, ...env } = process.env;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Run the built `opsbook` binary as a user would. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; uid?: number } = {},
): Promise<CliResult> {
  return runProcess(process.execPath, [binPath, ...args], options);
}

/** Run a `sh -c` command line, for what only a shell shows (a pipe into another program). */
export function runShell(
  command: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return runProcess('/bin/sh', ['-c', command], options);
}

function runProcess(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; uid?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? repoRoot,
      env: userEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      // Another user (the attacker who is not root), with that user's group.
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that exits before reading its stdin (most do not read it) closes the pipe: the
    // write then fails with EPIPE, which is the command's business, not an error of the test's.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A Node stack trace line: a user must never see one for their own mistake. */
export const stackTrace = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;
