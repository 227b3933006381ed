import type { RunStatus } from '@opsbook/runner';
import { type ErrorKind, isOpsbookError, storageErrorOf, ValidationError } from '@opsbook/schema';
import { showProblem } from './terminal-safe.js';

/** The CLI contract (README's exit-code table, docs/exit-codes.md): the one place where kinds of error become exit codes. */
export const exitCodes: Record<ErrorKind | 'ok' | 'bug', number> = {
  ok: 0,
  failed: 1,
  invalid: 2,
  refused: 3,
  unreachable: 4,
  interrupted: 130,
  bug: 70,
};

/** How a run ended, as the exit code of the command that ran it. */
export const exitForRun: Record<RunStatus, number> = {
  ok: exitCodes.ok,
  failed: exitCodes.failed,
  unreachable: exitCodes.unreachable,
  interrupted: exitCodes.interrupted,
};

/** The worst finding of an inspection, as an exit code: only a crit one fails the command. */
export const exitForFindings = {
  ok: exitCodes.ok,
  unknown: exitCodes.ok,
  warn: exitCodes.ok,
  crit: exitCodes.failed,
} as const;

/**
 * An inspection's exit code, in a run's own order (docs/exit-codes.md): 130 when interrupted;
 * else 1 when a step failed or a finding is crit, also with some host unreachable (a wrapper
 * that alerts on 1 must not miss crit findings because another host was down); else 4 when some
 * host could not be reached; else 0.
 */
export function exitForInspection(status: RunStatus, worst: keyof typeof exitForFindings): number {
  if (status === 'interrupted') return exitCodes.interrupted;
  if (status === 'failed' || exitForFindings[worst] === exitCodes.failed) return exitCodes.failed;
  return exitForRun[status];
}

export interface ReportedError {
  exitCode: number;
  text: string;
  json: { error: { code: string; kind: string; message: string; problems?: unknown } };
}

/**
 * How an error is shown: a user's mistake in one or a few lines, a bug with a way to report it.
 * The filesystem refusing a file (disk full, read-only…) is the machine's state, not a bug.
 */
export function describeError(e: unknown, debug: boolean): ReportedError {
  const storage = isOpsbookError(e) ? undefined : storageErrorOf(e);
  if (storage) return describeError(storage, debug);
  if (isOpsbookError(e)) {
    const problems = e instanceof ValidationError ? e.problems : undefined;
    const prefix =
      e.kind === 'refused'
        ? `refused (${e.code}): `
        : e.kind === 'invalid' && !problems
          ? 'error: '
          : e.kind === 'invalid'
            ? ''
            : `error (${e.code}): `;
    // A problem per line, each kept on its line: a path in it may be a folder named with a newline.
    const message = problems ? problems.map(showProblem).join('\n') : e.message;
    return {
      exitCode: exitCodes[e.kind],
      text: `${prefix}${message}${debug && e.stack ? `\n${e.stack}` : ''}`,
      json: {
        error: {
          code: e.code,
          kind: e.kind,
          message: e.message,
          ...(problems ? { problems } : {}),
        },
      },
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    exitCode: exitCodes.bug,
    text: `opsbook hit an unexpected error: ${err.message}\n${debug ? err.stack : 'Run again with --debug for the stack trace, and report it with the command you ran.'}`,
    json: { error: { code: 'INTERNAL', kind: 'bug', message: err.message } },
  };
}
