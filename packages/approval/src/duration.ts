import { readDuration, UsageError } from '@opsbook/schema';

export { formatDuration } from '@opsbook/schema';

/** Longest validity a number may spell: six digits, e.g. 999999m. */
const MAX_AMOUNT = 999_999;

/** Parse a validity duration such as '90m', '24h' or '7d' into milliseconds. */
export function parseDuration(text: string): number {
  const duration = readDuration(text, ['m', 'h', 'd']);
  if (!duration || duration.amount > MAX_AMOUNT)
    throw new UsageError(
      `'${text}' is not a duration: write minutes, hours or days such as 90m, 24h or 7d`,
    );
  return duration.ms;
}
