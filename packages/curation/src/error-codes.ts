import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes curation throws (tools match on them). */
export const curationErrorCodes = errorCodeList({
  invalid: {
    RUNBOOK_NAME_INVALID:
      'opsbook promote, pnpm new-runbook: the name is not lowercase letters, digits and "-" starting with a letter (64 at most)',
    RUNBOOK_OPTION_INVALID:
      'opsbook promote, pnpm new-runbook: --category or --grade is not one of the choices',
    RUNBOOK_EXISTS:
      'opsbook promote: a runbook (or the changeset of a new one) of that name exists: choose another name',
    SCRIPT_MISSING: 'opsbook promote: the script does not exist',
    SCRIPT_NOT_FILE:
      'opsbook promote: the script is a folder or a special file, not a regular file',
    SCRIPT_NOT_TEXT:
      'opsbook promote: the script is binary (a NUL byte, not UTF-8) or larger than 1 MiB',
    SCRIPT_NOT_SHELL:
      'opsbook promote: the script is empty, or its #! names an interpreter that is not a shell (python, perl…)',
    SCRIPT_ARGUMENTS_AMBIGUOUS:
      'opsbook promote: the script reads $1… before its getopts loop without shifting them away first, so the order of its arguments and options cannot be told: the message says where and what to change',
    PROMOTED_RUNBOOK_INVALID:
      "opsbook promote: lint would fail on the runbook made from the script (a ShellCheck error, at the script's line): nothing was written",
  },
  failed: {
    SHELLCHECK_MISSING:
      'ShellCheck is not installed (or OPSBOOK_SHELLCHECK names no program): install the shellcheck package',
    SHELLCHECK_FAILED:
      'ShellCheck ran but gave no result (too old for --format=json1, or it failed): the message has its output',
  },
});

export type CurationErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof curationErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const curationErrors = errorsFor(curationErrorCodes);
