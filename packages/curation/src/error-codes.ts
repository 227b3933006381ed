import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes curation throws (tools match on them). */
export const curationErrorCodes = errorCodeList({
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
