import { type Config, loadConfig } from '@opsbook/schema';
import type { CommandContext } from './command.js';

/** The configuration for a command: opsbook.yaml found upwards from the cwd, or --config. */
export async function configFor(ctx: CommandContext): Promise<Config> {
  loaded = await loadConfig({ file: ctx.global.config, env: process.env });
  return loaded;
}

let loaded: Config | undefined;

/** The configuration the command loaded, for an error that its settings explain (main.ts). */
export function loadedConfig(): Config | undefined {
  return loaded;
}
