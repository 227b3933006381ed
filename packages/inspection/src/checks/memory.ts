import { excerpt, parsed, parseToolOutput, toInt, unknown } from '../collector-output.js';
import { buildCollector } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { percentLimits, warnCritLimits } from '../warn-crit-limits.js';
import { percent } from '../with-schema-fragments.js';

/** The /proc/meminfo fields the checks use, in KiB. */
export interface MemInfo {
  memTotal: number;
  /** MemAvailable, or MemFree + Buffers + Cached on kernels before 3.14 that lack it. */
  memAvailable: number;
  isAvailableEstimated: boolean;
  swapTotal: number;
  swapFree: number;
}

const MEMINFO_COLLECTOR = buildCollector(
  "if [ -r /proc/meminfo ]; then cat /proc/meminfo; else echo 'OPSBOOK_MISSING /proc/meminfo'; fi",
);

export function parseMeminfo(output: string): Parsed<MemInfo> {
  return parseToolOutput(output, (out) => {
    const lines = out.lines();
    const kib = new Map<string, number>();
    for (const line of lines) {
      const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?: kB)?$/.exec(line.trim());
      const value = toInt(m?.[2]);
      if (m?.[1] && value !== undefined) kib.set(m[1], value);
    }
    const memTotal = kib.get('MemTotal');
    const swapTotal = kib.get('SwapTotal');
    const swapFree = kib.get('SwapFree');
    if (
      memTotal === undefined ||
      memTotal === 0 ||
      swapTotal === undefined ||
      swapFree === undefined
    ) {
      return unknown(`not /proc/meminfo: ${excerpt(lines)}`);
    }
    const available = kib.get('MemAvailable');
    const estimate =
      (kib.get('MemFree') ?? 0) + (kib.get('Buffers') ?? 0) + (kib.get('Cached') ?? 0);
    return parsed({
      memTotal,
      memAvailable: available ?? estimate,
      isAvailableEstimated: available === undefined,
      swapTotal,
      swapFree,
    });
  });
}

/** Used share in percent with one decimal, as `free` users read it. */
export function usedPercent(total: number, free: number): number {
  if (total <= 0) return 0;
  return Math.round(((total - free) * 1000) / total) / 10;
}

const mib = (kib: number) => `${Math.round(kib / 1024)} MiB`;

/** Memory and swap read the same file, the same way. */
const meminfo = { collect: () => MEMINFO_COLLECTOR, parse: parseMeminfo };

export const memoryCheck = defineCheck({
  name: 'inspection.memory',
  description: 'Memory in use, from MemTotal and MemAvailable in /proc/meminfo',
  limits: warnCritLimits({
    name: 'pct',
    worse: 'above',
    unit: '%',
    warn: percent(85, 'warn at or above this share of memory in use (not available), in percent'),
    crit: percent(95, 'crit at or above this share of memory in use, in percent'),
  }),
})({
  ...meminfo,
  evaluate: (m, ctx, limits) => {
    const used = usedPercent(m.memTotal, m.memAvailable);
    const how = m.isAvailableEstimated ? ' (estimated: the kernel has no MemAvailable)' : '';
    return limits.finding(ctx, {
      subject: 'memory',
      value: used,
      message: `memory ${used}% in use, ${mib(m.memAvailable)} of ${mib(m.memTotal)} available${how}`,
    });
  },
});

export const swapCheck = defineCheck({
  name: 'inspection.swap',
  description: 'Swap in use, from SwapTotal and SwapFree in /proc/meminfo',
  limits: percentLimits('share of swap in use', 50, 80),
})({
  ...meminfo,
  evaluate: (m, ctx, limits) => {
    if (m.swapTotal === 0) {
      const message = 'no swap configured';
      return makeFinding(ctx, {
        subject: 'swap',
        status: 'ok',
        value: 0,
        threshold: limits.warn(ctx),
        unit: '%',
        message,
      });
    }
    const used = usedPercent(m.swapTotal, m.swapFree);
    return limits.finding(ctx, {
      subject: 'swap',
      value: used,
      message: `swap ${used}% in use, ${mib(m.swapTotal - m.swapFree)} of ${mib(m.swapTotal)}`,
    });
  },
});
