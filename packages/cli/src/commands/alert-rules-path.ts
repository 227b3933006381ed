import path from 'node:path';
import { ALERT_RULES_FILE, type Config } from '@opsbook/schema';
import { type CommandContext, stringOption } from '../command.js';

/*
 * Where alerts.yaml is, without loading it: light enough for the bundle of the commands that only
 * read runbooks (dist/fast.js), where `opsbook validate` decides whether it has rules to check.
 */

export function rulesFileOf(ctx: CommandContext, config: Config): string {
  const given = stringOption(ctx, 'rules');
  return given ? path.resolve(given) : path.join(config.root, ALERT_RULES_FILE);
}

/** The rules file as messages name it: relative to the working folder when under it. */
export function shownRulesFile(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
