import { parseJsonSource } from '@opsbook/schema';
import { trackerErrors } from './error-codes.js';

/**
 * Parse a JSON file of the local tracker or the outbox (`file`, already read as `text`): a file
 * cut short or edited by hand is invalid input naming file:line:col and `fix`, what to do, never a
 * bare JSON.parse error. Nothing is removed or rewritten here: the file stays for the user.
 */
export function parseStateJson<T>(file: string, text: string, fix: string): T {
  // The plain parser first: these files are read on every run and flush, and are nearly always
  // whole; the strict reader (which locates a problem) runs only for one that is not.
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as T;
  } catch {
    // Located below.
  }
  const source = parseJsonSource(file, text);
  const value = source.value;
  const problems = source.problems.length
    ? source.problems
    : value === null || typeof value !== 'object' || Array.isArray(value)
      ? [{ file, line: 1, col: 1, rule: 'not-an-object', message: 'expected a JSON object' }]
      : [];
  if (problems.length)
    throw new trackerErrors.ValidationError(
      problems.map((p) => ({ ...p, message: `${p.message}; ${fix}` })),
      'TRACKER_STATE_INVALID',
    );
  return value as T;
}
