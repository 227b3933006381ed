import { ValidationError } from '@opsbook/schema';
import { quoteShellArg } from './shell-quote.js';

/**
 * How a command is started, identically on the local machine and over SSH:
 *
 *   [sudo -n --] sh -c WRAPPER opsbook-exec SHELL COMMAND      (argv; no secret in it)
 *
 * and on the command's stdin an env block: one line `NAME \ooo\ooo…` per variable (every byte of
 * the value as an octal escape, so any value fits on one line), then an empty line. The WRAPPER
 * (fixed text below) reads the block with the `read` builtin, decodes each value with `printf`
 * and exports it, so secrets reach the command's environment without ever being on a command
 * line (`ps`), in a file, or in the output. `sudo` resets the environment, which is why the block
 * is read by the wrapper AFTER sudo.
 *
 * stdin then stays open as a lifeline: when it reaches EOF before the command ends (timeout,
 * abort, lost connection, killed runner) the wrapper kills its whole process group, because
 * without a pty neither sshd nor the kernel would stop the command's children.
 */
const WRAPPER = [
  `while IFS=' ' read -r n e; do [ -z "$n" ] && break; v=$(printf "$e"; printf x); export "$n=\${v%x}"; done`,
  'exec 3<&0',
  '{ while read -r _ <&3; do :; done; kill -KILL 0; } >/dev/null 2>&1 &',
  'l=$!',
  '"$1" -c "$2" "$1" </dev/null 3<&-',
  'r=$?',
  'kill "$l" 2>/dev/null',
  'exit "$r"',
].join('\n');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ShellInvocationOptions {
  command: string;
  shell?: 'sh' | 'bash';
  sudo?: boolean;
}

/** The argv that starts a command (see above). */
export function shellInvocation(options: ShellInvocationOptions): string[] {
  const argv = ['sh', '-c', WRAPPER, 'opsbook-exec', options.shell ?? 'sh', options.command];
  return options.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

/** The same argv as one line of shell text, for an SSH exec request. */
export function shellInvocationLine(options: ShellInvocationOptions): string {
  return shellInvocation(options)
    .map((arg) => quoteShellArg(arg, 'command'))
    .join(' ');
}

/** The env block written to the command's stdin. */
export function encodeEnvBlock(env: Readonly<Record<string, string>> = {}): string {
  let block = '';
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) {
      throw ValidationError.single(
        `environment variable ${name}`,
        'is not a valid variable name: use letters, digits and _',
        'env-name',
      );
    }
    quoteShellArg(value, `environment variable ${name}`); // refuses what no environment can hold
    let encoded = '';
    for (const byte of Buffer.from(value, 'utf8'))
      encoded += `\\${byte.toString(8).padStart(3, '0')}`;
    block += `${name} ${encoded}\n`;
  }
  return `${block}\n`;
}
