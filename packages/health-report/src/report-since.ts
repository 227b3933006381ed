import { readDuration } from '@opsbook/schema';
import { healthReportErrors } from './error-codes.js';

/** A range bound the report cannot read: a usage mistake (exit 2) with its own code. */
const timeInvalid = (message: string) =>
  new healthReportErrors.OpsbookError('invalid', 'REPORT_TIME_INVALID', message);

export const MAX_SINCE_DAYS = 366;
export const SINCE_PATTERN = '^[1-9][0-9]{0,2}d$';

/** `30d` → the instant 30 days before `now`. Days only: reports are daily, so is their range. */
export function parseSince(since: string, now: Date): Date {
  const range = readDuration(since, ['d']);
  if (!range || range.amount > MAX_SINCE_DAYS) {
    throw timeInvalid(
      `--since ${JSON.stringify(since)} is not a range in days: write e.g. 30d (1d to ${MAX_SINCE_DAYS}d)`,
    );
  }
  return new Date(now.getTime() - range.ms);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A report bound: `Nd` (N days before `now`), a UTC day `YYYY-MM-DD` (its start, or its end
 * for `--until`), or an ISO time with its zone. `option` names the flag in the message.
 */
export function parseReportTime(value: string, now: Date, option: '--since' | '--until'): Date {
  if (/^\d+d$/.test(value)) return parseSince(value, now);
  if (DATE.test(value) || DATE_TIME.test(value)) {
    const at = DATE.test(value)
      ? Date.parse(`${value}T${option === '--until' ? '23:59:59.999' : '00:00:00.000'}Z`)
      : Date.parse(value);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw timeInvalid(
    `${option} ${JSON.stringify(value)} is not a time: write a number of days (30d), a UTC day (2025-03-01) or an ISO time with its zone (2025-03-01T06:00:00Z)`,
  );
}
