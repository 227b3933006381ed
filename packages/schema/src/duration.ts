/**
 * The one duration grammar: a whole positive number and a unit, `500ms`, `30s`, `5m`, `2h`, `7d`.
 * Each use accepts the units that make sense for it (a step timeout has no days, an approval's
 * validity no seconds, a report range only days) and says so in its own words when refused.
 */

export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

export const DURATION_UNIT_MS: Readonly<Record<DurationUnit, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const ALL_UNITS = Object.keys(DURATION_UNIT_MS) as DurationUnit[];

export interface Duration {
  amount: number;
  unit: DurationUnit;
  ms: number;
}

/** The JSON Schema `pattern` of a duration in one of `units`, e.g. `^[1-9][0-9]*(ms|s|m|h)$`. */
export function durationPattern(units: readonly DurationUnit[] = ALL_UNITS): string {
  return `^[1-9][0-9]*(${units.join('|')})$`;
}

/** `90m` → 90 minutes; undefined when `text` is not a whole positive number of one of `units`. */
export function readDuration(
  text: string,
  units: readonly DurationUnit[] = ALL_UNITS,
): Duration | undefined {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d)$/.exec(text);
  const unit = m?.[2] as DurationUnit | undefined;
  if (!m || !unit || !units.includes(unit)) return undefined;
  const amount = Number(m[1]);
  return { amount, unit, ms: amount * DURATION_UNIT_MS[unit] };
}

/**
 * A duration in the largest of days, hours, minutes that divides it evenly (else in whole
 * minutes, rounded up), for messages.
 */
export function formatDuration(ms: number): string {
  const { d, h, m } = DURATION_UNIT_MS;
  if (ms % d === 0) return `${ms / d}d`;
  if (ms % h === 0) return `${ms / h}h`;
  if (ms % m === 0) return `${ms / m}m`;
  return `${Math.ceil(ms / m)}m`;
}
