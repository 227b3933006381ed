const DAY_MS = 86_400_000;

/** The UTC day (`YYYY-MM-DD`) of an ISO 8601 time: days are UTC so reports agree across zones. */
export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/** Whole days since 1970-01-01 of a `YYYY-MM-DD` day: the x axis of growth fits. */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/** The last instant of a UTC day, as ISO 8601. */
export function endOfDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS - 1).toISOString();
}

export function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day (`YYYY-MM-DD`) a whole or fractional `dayNumber` falls on. */
export function dayOfNumber(n: number): string {
  return new Date(Math.floor(n) * DAY_MS).toISOString().slice(0, 10);
}
