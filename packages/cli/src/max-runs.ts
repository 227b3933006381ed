import { MAX_RUNS } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { type CommandContext, stringOption } from './command.js';

/**
 * `--max-runs N` of plan, approve and ticket propose/approve: a whole number from 1 to what an
 * approval may allow, refused as a usage mistake before anything is read or signed.
 */
export function maxRunsOption(ctx: CommandContext): number | undefined {
  const text = stringOption(ctx, 'max-runs');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > MAX_RUNS)
    throw new UsageError(
      `--max-runs must be a whole number from 1 to ${MAX_RUNS.toLocaleString('en')}, not '${text}'`,
    );
  return n;
}
