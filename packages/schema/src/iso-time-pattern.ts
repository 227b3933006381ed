/**
 * A point in time as ISO 8601 with its offset (`2025-03-10T08:00:00Z`, `…T09:00:00+01:00`):
 * without the offset a time would mean another instant on each machine's clock.
 */
export const ISO_TIME_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,3})?)?(Z|[+-][0-9]{2}:[0-9]{2})$';

export const ISO_TIME_HINT =
  'write a time with its day and offset, e.g. 2025-03-10T08:00:00Z (UTC) or 2025-03-10T09:00:00+01:00';
