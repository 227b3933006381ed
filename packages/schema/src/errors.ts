import type { SchemaErrorCode } from './error-codes.js';
import { formatProblem, type Problem } from './problem.js';

/**
 * The error vocabulary shared by every opsbook package. Each error has a `kind` that the CLI maps
 * to an exit code in one place (docs/exit-codes.md), a stable `code`, and a message that tells the
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

  constructor(
    problems: Problem[],
    code: string = 'INVALID_INPUT' satisfies SchemaErrorCode<'invalid'>,
  ) {
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
    super('invalid', 'USAGE' satisfies SchemaErrorCode<'invalid'>, message);
  }
}

/** Refused by approval, policy or ticket state. `code` is a stable code of its package's list. */
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
    super('interrupted', 'INTERRUPTED' satisfies SchemaErrorCode<'interrupted'>, message);
  }
}

export function isOpsbookError(e: unknown): e is OpsbookError {
  return e instanceof OpsbookError;
}

/**
 * One stable code of a package: the kind it is thrown as (so its exit code) and what it means,
 * in one line. Each package keeps its codes in `src/error-codes.ts`, a list of these built by
 * `errorCodeList`; its README's error table is generated from that list (`pnpm gen:errors`).
 */
export interface ErrorCodeEntry {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly meaning: string;
}

/**
 * A package's codes as written in its `src/error-codes.ts`: grouped by the kind they are thrown
 * as, each code with its meaning, `{ refused: { KEY_REVOKED: 'the key is revoked', … }, … }`.
 * A code thrown as two kinds stands in both groups.
 */
export type ErrorCodeGroups = { readonly [K in ErrorKind]?: Readonly<Record<string, string>> };

/** The entries of `G`: one per code of each kind, keeping the code and kind as literal types. */
export type ErrorCodeEntriesOf<G extends ErrorCodeGroups> = {
  [K in keyof G & ErrorKind]: {
    [C in keyof G[K] & string]: { readonly code: C; readonly kind: K; readonly meaning: string };
  }[keyof G[K] & string];
}[keyof G & ErrorKind];

/**
 * The list of entries of `groups`, in the order written (kind by kind): what `errorsFor` types
 * the classes with and `pnpm gen:errors` writes the README table from.
 */
export function errorCodeList<const G extends ErrorCodeGroups>(
  groups: G,
): readonly ErrorCodeEntriesOf<G>[] {
  return Object.entries(groups).flatMap(([kind, meanings]) =>
    Object.entries(meanings ?? {}).map(([code, meaning]) => ({ code, kind, meaning })),
  ) as ErrorCodeEntriesOf<G>[];
}

/** The codes of the list `L` that are thrown as kind `K` (any kind by default). */
export type ErrorCodeOf<
  L extends readonly ErrorCodeEntry[],
  K extends ErrorKind = ErrorKind,
> = Extract<L[number], { readonly kind: K }>['code'];

type Details = Record<string, unknown>;

/** The error classes, each taking only the codes a package lists for its kind. */
export interface TypedErrors<L extends readonly ErrorCodeEntry[]> {
  OpsbookError: new <K extends ErrorKind>(
    kind: K,
    code: ErrorCodeOf<L, K>,
    message: string,
    details?: Details,
    options?: { cause?: unknown },
  ) => OpsbookError;
  ValidationError: new (problems: Problem[], code: ErrorCodeOf<L, 'invalid'>) => ValidationError;
  RefusalError: new (
    code: ErrorCodeOf<L, 'refused'>,
    message: string,
    details?: Details,
  ) => RefusalError;
  UnreachableError: new (
    code: ErrorCodeOf<L, 'unreachable'>,
    message: string,
    details?: Details,
  ) => UnreachableError;
  WorkFailedError: new (
    code: ErrorCodeOf<L, 'failed'>,
    message: string,
    details?: Details,
  ) => WorkFailedError;
}

/**
 * The same classes, typed by a package's code list: `new backupErrors.WorkFailedError(code, …)`
 * fails typecheck when `code` is not in the list as a `failed` code, so a typo or an unlisted
 * code never reaches a user. At run time these are the classes themselves.
 */
export function errorsFor<L extends readonly ErrorCodeEntry[]>(_codes: L): TypedErrors<L> {
  return { OpsbookError, ValidationError, RefusalError, UnreachableError, WorkFailedError };
}

/**
 * The machine's own storage refused opsbook a file (disk full, quota, read-only, permissions):
 * not the user's input and not a bug. Kind `failed` (exit 1); the message names the path.
 */
export class StorageError extends OpsbookError {
  constructor(
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super('failed', code, message, details, options);
  }
}

/** The errno codes that are the storage's refusal, with their stable code and what to do. */
const storageRefusals: Record<
  string,
  { code: SchemaErrorCode<'failed'>; verb: string; says: string; fix: string }
> = {
  ENOSPC: {
    code: 'DISK_FULL',
    verb: 'write',
    says: 'no space left on the device',
    fix: 'free space on that filesystem',
  },
  EDQUOT: {
    code: 'QUOTA_EXCEEDED',
    verb: 'write',
    says: 'the disk quota is used up',
    fix: 'free space or have the quota raised',
  },
  EROFS: {
    code: 'READ_ONLY_FILESYSTEM',
    verb: 'write',
    says: 'the filesystem is read-only',
    fix: 'remount it read-write',
  },
  EACCES: {
    code: 'PERMISSION_DENIED',
    verb: 'use',
    says: 'permission denied',
    fix: 'give the user running opsbook access to it',
  },
  EPERM: {
    code: 'PERMISSION_DENIED',
    verb: 'use',
    says: 'operation not permitted',
    fix: 'give the user running opsbook access to it',
  },
  ENOTDIR: {
    code: 'NOT_A_DIRECTORY',
    verb: 'use',
    says: 'a part of the path is a file where a folder should be',
    fix: 'move that file out of the way',
  },
  EISDIR: {
    code: 'IS_A_DIRECTORY',
    verb: 'use',
    says: 'it is a folder where a file should be',
    fix: 'move that folder out of the way (or, where opsbook.yaml names that path, point it at a file)',
  },
  ELOOP: {
    code: 'SYMLINK_LOOP',
    verb: 'use',
    says: 'its symbolic links go round in a loop',
    fix: 'repair the link (ls -l shows where it points)',
  },
  EIO: {
    code: 'IO_ERROR',
    verb: 'use',
    says: 'the device reported an I/O error',
    fix: 'check the disk (dmesg, smartctl)',
  },
};

/** Errno codes that storageErrorOf turns into a StorageError. */
export const storageErrnos: readonly string[] = Object.keys(storageRefusals);

export interface StorageContext {
  /** What could not be written ("the journal /x/runs/1.jsonl"): a write on an open file has no path. */
  place?: string;
  /** What became of the work meanwhile, as a sentence ("Nothing was run"). */
  outcome?: string;
  /** Another way out, after the fix ("or set stateDir in opsbook.yaml to another place"). */
  alternative?: string;
}

/**
 * `e` as a StorageError when the filesystem refused (ENOSPC, EDQUOT, EROFS, EACCES, EPERM,
 * ENOTDIR, EISDIR, ELOOP, EIO), else undefined: every other error stays what it was.
 */
export function storageErrorOf(e: unknown, context: StorageContext = {}): StorageError | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code: errno, path } = e as Error & { code?: unknown; path?: unknown };
  const refusal = typeof errno === 'string' ? storageRefusals[errno] : undefined;
  if (!refusal) return undefined;
  const where = context.place ?? (typeof path === 'string' ? path : 'a file');
  const outcome = context.outcome ? ` ${context.outcome}.` : '';
  const fix = refusal.fix[0]!.toUpperCase() + refusal.fix.slice(1);
  const alternative = context.alternative ? `, ${context.alternative}` : '';
  return new StorageError(
    refusal.code,
    `cannot ${refusal.verb} ${where}: ${refusal.says} (${errno}).${outcome} ${fix}${alternative}.`,
    { errno, ...(typeof path === 'string' ? { path } : {}) },
    { cause: e },
  );
}

/**
 * What the storage said when it refused (`no space left on the device, ENOSPC`), in our words
 * rather than Node's errno text ("ENOSPC: no space left on device, write"); else the error's own
 * message. For a refusal quoted inside another message (what kept a ticket's end from its outbox).
 */
export function refusalText(e: unknown): string {
  const errno = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  const refusal = typeof errno === 'string' ? storageRefusals[errno] : undefined;
  if (refusal) return `${refusal.says}, ${errno}`;
  return e instanceof Error ? e.message : String(e);
}

/** Why a file that should be read could not be, in words, by errno. */
const unreadableReasons: Record<string, string> = {
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'its symbolic links go round in a loop',
  ENOTDIR: 'a part of its path is a file where a folder should be',
  ENAMETOOLONG: 'the path is too long',
  ENOENT: 'it does not exist',
  EIO: 'the device reported an I/O error',
};

/**
 * A file named by the user (in opsbook.yaml or on the command line) that cannot be read: a folder,
 * a link loop, no permission. The user's to fix, so a ValidationError naming the file, the reason
 * and `fix`, what to do (e.g. "point trustStore in opsbook.yaml at approvers.yaml").
 */
export function unreadableFileError(file: string, e: unknown, fix: string): ValidationError {
  return ValidationError.single(
    file,
    `cannot read it: ${unreadableReason(e)}: ${fix}`,
    'unreadable-file',
  );
}

/** Why a read failed, in words with its errno: `it is a folder, not a file (EISDIR)`. */
export function unreadableReason(e: unknown): string {
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    (errno && unreadableReasons[errno]) ?? (e instanceof Error ? e.message : String(e));
  return `${reason}${errno ? ` (${errno})` : ''}`;
}
