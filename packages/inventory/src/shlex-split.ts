/**
 * Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible uses to split an INI
 * host line into the host and its `key=value` pairs. Ported state for state so that quotes,
 * backslashes and `#` comments mean the same here as in Ansible.
 */
export class ShlexError extends Error {}

const whitespace = ' \t\r\n';

/** A line without quotes, backslashes or comments: its words are the runs between whitespace. */
const plainLineRe = /^[^'"\\#]*$/;

export function shlexSplit(line: string): string[] {
  // The common host line (`web01 ansible_host=10.0.0.1 ansible_user=deploy`), split at once.
  if (plainLineRe.test(line)) return line.split(/[ \t\r\n]+/).filter((w) => w !== '');
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  let state: ' ' | 'a' | "'" | '"' | '\\' = ' ';
  let escaped = 'a' as 'a' | "'" | '"';
  const emit = () => {
    if (token || quoted) tokens.push(token);
    token = '';
    quoted = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (state === ' ' || state === 'a') {
      if (whitespace.includes(c)) {
        state = ' ';
        emit();
      } else if (c === '#') {
        // A comment runs to the end of the line, even in the middle of a word.
        break;
      } else if (c === "'" || c === '"') {
        state = c;
        quoted = true;
      } else if (c === '\\') {
        escaped = 'a';
        state = '\\';
      } else {
        token += c;
        state = 'a';
      }
    } else if (state === "'" || state === '"') {
      if (c === state) state = 'a';
      else if (c === '\\' && state === '"') {
        escaped = state;
        state = '\\';
      } else token += c;
    } else {
      // In double quotes only the quote itself and the backslash may be escaped.
      if (escaped === '"' && c !== '"' && c !== '\\') token += '\\';
      token += c;
      state = escaped;
    }
  }
  if (state === "'" || state === '"') throw new ShlexError('No closing quotation');
  if (state === '\\') throw new ShlexError('No escaped character');
  emit();
  return tokens;
}
