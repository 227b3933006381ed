import { quoteShellArg } from '@opsbook/exec';
import type { CommandContext } from './command.js';

// Words a POSIX shell passes on unchanged; anything else is quoted.
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * A command line a person can paste: `opsbook` and its words, each quoted for the shell when it
 * needs it, with the --config of this command when one was given (a hint that dropped it would
 * run against another repository's settings).
 */
export function commandHint(ctx: CommandContext, ...words: (string | undefined | false)[]): string {
  const config = ctx.global.config;
  const all = [
    'opsbook',
    ...words.filter((w): w is string => typeof w === 'string'),
    ...(config ? ['--config', config] : []),
  ];
  return all.map((w) => (PLAIN.test(w) || w.startsWith('~/') ? w : quoteShellArg(w))).join(' ');
}

/** `-i FILE` when an inventory file was named, else nothing. */
export function inventoryWords(inventoryFile: string | undefined): string[] {
  return inventoryFile ? ['-i', inventoryFile] : [];
}
