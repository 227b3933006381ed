import { ValidationError } from '@opsbook/schema';
import { quoteShellArg } from './shell-quote.js';

/**
 * How a command is started, identically on the local machine and over SSH:
 *
 *   [sudo -n --] sh -c WRAPPER opsbook-exec SHELL COMMAND      (argv; no secret in it)
 *
 * and on the command's stdin an env block: ONE line of shell text, `NAME='value'; export NAME; …`,
 * each value single-quoted by `quoteShellArg` and each newline of a value written as `"$3"`
 * (outside the quotes), so any value fits on one line. The WRAPPER (fixed text below) sets $3 to
 * a newline, reads the line with the `read` builtin and `eval`s it. Decoding the whole block
 * costs no fork: it matters, because every step of every host pays it (BENCHMARKS.md, fan-out).
 * Secrets reach the command's environment without ever being on a command line (`ps`), in a
 * file, or in the output. `sudo` resets the environment, which is why the block is read by the
 * wrapper AFTER sudo.
 *
 * Why `eval` is safe here: the line is built only from names matching ENV_NAME, the fixed text
 * `=`, `; export `, `"$3"`, and values quoted by the one quoting function; inside single quotes
 * the shell expands nothing. A positional parameter carries the newline because the block cannot
 * assign one (names never start with a digit), so no value can change how a later one decodes.
 * After the eval the wrapper uses only positional and special parameters, so a variable of the
 * block (even one named like a wrapper variable) cannot change what the wrapper does.
 *
 * stdin then stays open as a lifeline: when it reaches EOF before the command ends (timeout,
 * abort, lost connection, killed runner) the wrapper kills its whole process group, because
 * without a pty neither sshd nor the kernel would stop the command's children.
 *
 * A command given `input` (a byte stream: an archive to extract or restore) gets the rest of
 * stdin after the env block as its own stdin instead (INPUT_WRAPPER): `read` takes the block one
 * byte at a time, so not a byte of the input is consumed. It has no lifeline: the end of its
 * input, an abort or a lost connection is the EOF of its stdin, which such a command must treat
 * as a failure unless its input said otherwise (the restores of @opsbook/backup end theirs with a
 * verdict line).
 */
const WRAPPER = [
  `set -- "$1" "$2" '\n'`,
  'IFS= read -r e || exit 125',
  'eval "$e"',
  'exec 3<&0',
  '{ while read -r _ <&3; do :; done; kill -KILL 0; } >/dev/null 2>&1 &',
  '"$1" -c "$2" "$1" </dev/null 3<&-',
  'set -- "$?" "$!"',
  'kill "$2" 2>/dev/null',
  'exit "$1"',
].join('\n');

const INPUT_WRAPPER = [
  `set -- "$1" "$2" '\n'`,
  'IFS= read -r e || exit 125',
  'eval "$e"',
  'exec "$1" -c "$2" "$1"',
].join('\n');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ShellInvocationOptions {
  command: string;
  shell?: 'sh' | 'bash';
  sudo?: boolean | undefined;
  /** The command reads the bytes after the env block as its stdin (no lifeline). */
  input?: boolean | undefined;
}

/**
 * The longest argument Linux starts a program with: MAX_ARG_STRLEN (32 pages of 4 KiB) less the
 * terminating NUL. A longer one fails the exec with E2BIG, "Argument list too long", and the
 * command is one argument on the host (sshd runs the login shell with `-c LINE`).
 */
export const MAX_ARGUMENT_BYTES = 131_071;

/** The bytes of the longest line without its command's two quotes (commandArgumentBytes). */
let longestPrefixBytes: number | undefined;

/**
 * The bytes of the longest argument a command becomes on the host: the line below, as quoted,
 * taken with sudo and bash (the longest form), so that one bound holds for every step.
 */
export function commandArgumentBytes(command: string): number {
  // Counted, not built: a plan asks once per step and host. The quoted command is the command,
  // its two quotes, and three bytes more for each single quote in it ('\'').
  longestPrefixBytes ??=
    Buffer.byteLength(shellInvocationLine({ command: '', sudo: true, shell: 'bash' }), 'utf8') - 2;
  let quotes = 0;
  for (let i = command.indexOf("'"); i !== -1; i = command.indexOf("'", i + 1)) quotes++;
  return longestPrefixBytes + Buffer.byteLength(command, 'utf8') + 2 + 3 * quotes;
}

/** The argv that starts a command (see above). */
export function shellInvocation(options: ShellInvocationOptions): string[] {
  const wrapper = options.input ? INPUT_WRAPPER : WRAPPER;
  const argv = ['sh', '-c', wrapper, 'opsbook-exec', options.shell ?? 'sh', options.command];
  return options.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

/**
 * The same argv as one line of shell text, for an SSH exec request; `exec`, so that the login
 * shell sshd runs it with becomes the command rather than waiting for it (dash does not by itself).
 */
export function shellInvocationLine(options: ShellInvocationOptions): string {
  return `exec ${shellInvocation(options)
    .map((arg) => quoteShellArg(arg, 'command'))
    .join(' ')}`;
}

/** The env block written to the command's stdin: one line of shell text (see above). */
export function encodeEnvBlock(env: Readonly<Record<string, string>> = {}): string {
  const assignments: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) {
      throw ValidationError.single(
        `environment variable ${name}`,
        'is not a valid variable name: use letters, digits and _',
        'env-name',
      );
    }
    // Refuses what no environment can hold; a newline ends up outside the quotes as "$3".
    const quoted = quoteShellArg(value, `environment variable ${name}`).replaceAll('\n', `'"$3"'`);
    assignments.push(`${name}=${quoted}; export ${name}`);
  }
  return `${assignments.join('; ')}\n`;
}
