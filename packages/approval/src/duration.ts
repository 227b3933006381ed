import { UsageError } from '@opsbook/schema';

const units = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parse a validity duration such as '90m', '24h' or '7d' into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,5})(m|h|d)$/.exec(text);
  if (!m)
    throw new UsageError(
      `'${text}' is not a duration: write minutes, hours or days such as 90m, 24h or 7d`,
    );
  return Number(m[1]) * units[m[2] as keyof typeof units];
}

/** A duration in the largest unit that divides it evenly, for messages. */
export function formatDuration(ms: number): string {
  if (ms % units.d === 0) return `${ms / units.d}d`;
  if (ms % units.h === 0) return `${ms / units.h}h`;
  if (ms % units.m === 0) return `${ms / units.m}m`;
  return `${Math.ceil(ms / units.m)}m`;
}
