import { excerpt, parsed, parseToolOutput, toInt, toNumber, unknown } from '../collector-output.js';
import { buildCollector } from '../collector-script.js';
import { defineCheck, type Parsed } from '../inspection-check.js';
import { warnAndCrit, warnCritLimits } from '../warn-crit-limits.js';
import { nonNegative } from '../with-schema-fragments.js';

export interface LoadInfo {
  load1: number;
  load5: number;
  load15: number;
  cores: number;
}

const COLLECTOR = buildCollector(
  'if [ -r /proc/loadavg ]; then echo "OPSBOOK_LOADAVG $(cat /proc/loadavg)"; else echo \'OPSBOOK_MISSING /proc/loadavg\'; fi',
  // nproc counts the CPUs this process may use; getconf and /proc/cpuinfo are the fallbacks
  // for hosts without coreutils' or BusyBox's nproc.
  'if command -v nproc >/dev/null 2>&1; then echo "OPSBOOK_CORES $(nproc)"',
  'elif command -v getconf >/dev/null 2>&1; then echo "OPSBOOK_CORES $(getconf _NPROCESSORS_ONLN)"',
  'else echo "OPSBOOK_CORES $(grep -c ^processor /proc/cpuinfo 2>/dev/null)"; fi',
);

export function parseLoad(output: string): Parsed<LoadInfo> {
  return parseToolOutput(output, (out) => {
    const fields = (out.marker('LOADAVG') ?? '').trim().split(/\s+/);
    const [load1, load5, load15] = fields.slice(0, 3).map(toNumber);
    const cores = toInt(out.marker('CORES'));
    if (load1 === undefined || load5 === undefined || load15 === undefined) {
      return unknown(`no load averages in the output: ${excerpt(out.lines())}`);
    }
    if (cores === undefined || cores < 1)
      return unknown('the number of CPU cores could not be read');
    return parsed({ load1, load5, load15, cores });
  });
}

export const loadCheck = defineCheck({
  name: 'inspection.load',
  description: 'Load average per CPU core (/proc/loadavg divided by nproc)',
  with: {
    properties: {
      window: {
        enum: [1, 5, 15],
        default: 5,
        description: 'Which load average to judge, in minutes',
      },
    },
  },
  limits: warnCritLimits({
    name: 'per_core',
    worse: 'above',
    unit: 'per-core',
    ...warnAndCrit(nonNegative, 1, 2, 'at or above this load per core'),
  }),
})({
  collect: () => COLLECTOR,
  parse: parseLoad,
  evaluate: (l, ctx, limits) => {
    const window = ctx.with.window ?? 5;
    const load = window === 1 ? l.load1 : window === 15 ? l.load15 : l.load5;
    const perCore = Math.round((load / l.cores) * 100) / 100;
    return limits.finding(ctx, {
      subject: `load${window}`,
      value: perCore,
      message: `${window}-minute load ${load} on ${l.cores} cores = ${perCore} per core`,
    });
  },
});
