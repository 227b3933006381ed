import { readDuration, UsageError } from '@opsbook/schema';

export const MAX_SINCE_DAYS = 366;
export const SINCE_PATTERN = '^[1-9][0-9]{0,2}d$';

/** `30d` → the instant 30 days before `now`. Days only: reports are daily, so is their range. */
export function parseSince(since: string, now: Date): Date {
  const range = readDuration(since, ['d']);
  if (!range || range.amount > MAX_SINCE_DAYS) {
    throw new UsageError(
      `--since ${JSON.stringify(since)} is not a range in days: write e.g. 30d (1d to ${MAX_SINCE_DAYS}d)`,
    );
  }
  return new Date(now.getTime() - range.ms);
}
