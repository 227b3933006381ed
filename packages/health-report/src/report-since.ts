import { UsageError } from '@opsbook/schema';

const DAY_MS = 86_400_000;
export const MAX_SINCE_DAYS = 366;
export const SINCE_PATTERN = '^[1-9][0-9]{0,2}d$';

/** `30d` → the instant 30 days before `now`. Days only: reports are daily, so is their range. */
export function parseSince(since: string, now: Date): Date {
  const m = new RegExp(SINCE_PATTERN).exec(since);
  const days = m ? Number(since.slice(0, -1)) : Number.NaN;
  if (!m || days > MAX_SINCE_DAYS) {
    throw new UsageError(
      `--since ${JSON.stringify(since)} is not a range in days: write e.g. 30d (1d to ${MAX_SINCE_DAYS}d)`,
    );
  }
  return new Date(now.getTime() - days * DAY_MS);
}
