import { execErrors } from './error-codes.js';

/**
 * Quotes one value as a single POSIX shell word (sh, dash, bash, zsh): the shell hands it to the
 * command verbatim and never expands, splits or globs any part of it. This is the ONE quoting
 * function of opsbook; everything that puts a value into shell text goes through it.
 *
 * Single quotes suppress every expansion; the only character they cannot hold is the single quote
 * itself, written as `'\''` (close, escaped quote, reopen). The value is always quoted, even when
 * it looks harmless, so that the result never depends on a list of "safe" characters.
 *
 * Refused (ValidationError, exit 2): a NUL byte (no C string, so no argv or environment entry, can
 * hold one) and lone UTF-16 surrogates (they cannot be encoded, so the shell would not receive
 * the value verbatim).
 */
// In a `u` regex paired surrogates read as one code point, so this matches only lone halves.
const LONE_SURROGATE = /\p{Surrogate}/u;

export function quoteShellArg(value: string, what = 'value'): string {
  if (value.includes('\0')) {
    throw new execErrors.ValidationError(
      [
        {
          file: what,
          line: 0,
          col: 0,
          rule: 'nul-byte',
          message:
            'contains a NUL byte, which no shell command or environment variable can receive: remove it',
        },
      ],
      'SHELL_NUL_BYTE',
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new execErrors.ValidationError(
      [
        {
          file: what,
          line: 0,
          col: 0,
          rule: 'lone-surrogate',
          message: 'is not well-formed Unicode (a lone surrogate): fix the value',
        },
      ],
      'SHELL_BAD_UNICODE',
    );
  }
  return `'${value.replaceAll("'", "'\\''")}'`;
}
