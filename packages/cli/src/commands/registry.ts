import type { CommandSpec } from '../command.js';

/**
 * Every command, with its one-line summary (for `opsbook --help`) and a loader that imports the
 * command's module only when it runs, so that start-up stays fast however many commands exist.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandSpec>;
}

export const commands: CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check runbooks against the schema and the rules; list every problem',
    load: async () => (await import('./validate.js')).default,
  },
  {
    name: 'list',
    summary: 'list the runbooks of this repository',
    load: async () => (await import('./list.js')).default,
  },
  {
    name: 'show',
    summary: "show a runbook's params, targets, steps and versions",
    load: async () => (await import('./show.js')).default,
  },
  {
    name: 'digest',
    summary: "print a runbook bundle's digest (what an approval is bound to)",
    load: async () => (await import('./digest.js')).default,
  },
];
