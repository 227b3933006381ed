import { quoteShellArg } from '@opsbook/exec';

/**
 * Building blocks of collector scripts. A collector is POSIX sh that only reads: it never
 * redirects into a file other than /dev/null, and it always exits 0 so that a missing tool
 * reaches the parser as a marker line (`OPSBOOK_MISSING <tool>`) instead of a failed step.
 * Every value from `with:` enters the script through `quoteShellArg`, the one quoting function.
 */

/** C locale: headers, month names and decimal points are what the parsers expect. */
const PRELUDE = 'LC_ALL=C; LANG=C; export LC_ALL LANG';

export function buildCollector(...parts: string[]): string {
  return [PRELUDE, ...parts, 'exit 0'].join('\n');
}

/** Quote one `with:` value as a single shell word. */
export function shellWord(value: string | number, what: string): string {
  return quoteShellArg(String(value), what);
}

/** Run `then` when `tool` is on PATH, otherwise `otherwise` (by default: report it missing). */
export function whenTool(tool: string, then: string, otherwise = missingMarker(tool)): string {
  return `if command -v ${tool} >/dev/null 2>&1; then\n${then}\nelse\n${otherwise}\nfi`;
}

/** Try each [tool, command] in order; report the last as missing when none is present. */
export function firstTool(choices: readonly (readonly [string, string])[]): string {
  const names = choices.map(([tool]) => tool).join(' ');
  let script = `echo 'OPSBOOK_MISSING ${names}'`;
  for (const [tool, command] of [...choices].reverse()) script = whenTool(tool, command, script);
  return script;
}

export function missingMarker(tool: string): string {
  return `echo 'OPSBOOK_MISSING ${tool}'`;
}

/** Start a named part of the output (`OPSBOOK_SECTION <name>`). */
export function section(name: string): string {
  return `echo 'OPSBOOK_SECTION ${name}'`;
}

/** Record the exit status of the command just run, for checks whose answer is the status. */
export const EXIT_MARKER = 'echo "OPSBOOK_EXIT $?"';

/** The host's own clock, so that ages and expiries are measured where the data lives. */
export const NOW_MARKER = 'echo "OPSBOOK_NOW $(date +%s)"';

/**
 * Sets `$t` to a `timeout N` prefix when the host has timeout(1). Used instead of tools' own
 * timeout options, which differ between implementations (BusyBox 1.35 wget crashes on -T).
 */
export function timeoutPrefix(seconds: number): string {
  return `if command -v timeout >/dev/null 2>&1; then t="timeout ${Math.trunc(seconds)}"; else t=; fi`;
}
