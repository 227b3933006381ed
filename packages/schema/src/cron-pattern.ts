/**
 * The JSON Schema `pattern` of a schedule's cron expression in opsbook.yaml: graphile-worker's
 * crontab time fields (minute hour day-of-month month day-of-week, in UTC), each `*`, `*\/n`, a
 * number or a range `a-b`, or a comma list of them, with each number in its field's range. The
 * scheduler parses it again with graphile-worker itself; this pattern lets `loadConfig` place a
 * typo at its file:line:col before anything starts.
 */
function field(value: string): string {
  const atom = `(\\*(/[1-9][0-9]*)?|(${value})(-(${value}))?)`;
  return `${atom}(,${atom})*`;
}

const MINUTE = '[0-5]?[0-9]';
const HOUR = '[01]?[0-9]|2[0-3]';
const DAY_OF_MONTH = '0?[1-9]|[12][0-9]|3[01]';
const MONTH = '0?[1-9]|1[0-2]';
/** 0 and 7 are both Sunday, as in cron. */
const DAY_OF_WEEK = '[0-7]';

export const CRON_PATTERN = `^${[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK].map(field).join(' +')}$`;

/** What a refused cron expression is told. */
export const CRON_HINT =
  'write five fields in UTC, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7, 0 and 7 are Sunday), each *, */n, a number, a range a-b or a comma list of them, e.g. "0 6 * * *" for 06:00 UTC every day';
