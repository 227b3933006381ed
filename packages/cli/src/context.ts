import { type Config, loadConfig } from '@opsbook/schema';
import type { CommandContext } from './command.js';

/** The configuration for a command: opsbook.yaml found upwards from the cwd, or --config. */
export function configFor(ctx: CommandContext): Promise<Config> {
  return loadConfig({ file: ctx.global.config, env: process.env });
}
