import { formatProblem, type Problem } from './problem.js';

/**
 * The error vocabulary shared by every opsbook package. Each error has a `kind` that the CLI
 * maps to an exit code in one place (DESIGN §7), a stable `code`, and a message that tells the
 * user what to do. Packages throw these; they never print.
 */
export type ErrorKind = 'invalid' | 'refused' | 'failed' | 'unreachable' | 'interrupted';

export class OpsbookError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

/** Bad input: usage, schema, an unreadable or malformed file. Carries every problem found. */
export class ValidationError extends OpsbookError {
  readonly problems: Problem[];

  constructor(problems: Problem[], code = 'INVALID_INPUT') {
    super('invalid', code, problems.map(formatProblem).join('\n'), { problems });
    this.problems = problems;
  }

  static single(file: string, message: string, rule: string, line = 0, col = 0): ValidationError {
    return new ValidationError([{ file, line, col, message, rule }]);
  }
}

/** A usage mistake on the command line. */
export class UsageError extends OpsbookError {
  constructor(message: string) {
    super('invalid', 'USAGE', message);
  }
}

/** Refused by approval, policy or ticket state. `code` is one of DESIGN §4's stable codes. */
export class RefusalError extends OpsbookError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('refused', code, message, details);
  }
}

/** A host or the tracker could not be reached. */
export class UnreachableError extends OpsbookError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('unreachable', code, message, details);
  }
}

/** The work itself failed: a step, a check or a host. */
export class WorkFailedError extends OpsbookError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('failed', code, message, details);
  }
}

export class InterruptedError extends OpsbookError {
  constructor(message = 'interrupted') {
    super('interrupted', 'INTERRUPTED', message);
  }
}

export function isOpsbookError(e: unknown): e is OpsbookError {
  return e instanceof OpsbookError;
}
