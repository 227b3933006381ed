import {
  excerpt,
  parsed,
  parseToolOutput,
  toNumber,
  toolFailure,
  unknown,
} from '../collector-output.js';
import { buildCollector, EXIT_MARKER, section } from '../collector-script.js';
import {
  type CheckWith,
  defineCheck,
  type EvaluateContext,
  type Finding,
  type Parsed,
  type WithSchemaOf,
} from '../inspection-check.js';
import { countLimits } from '../warn-crit-limits.js';

/** Kernel messages of the inspected window, from the journal or the ring buffer. */
export interface KernelLog {
  source: 'journal' | 'dmesg';
  lines: string[];
}

/**
 * The journal when it holds kernel messages (it filters by time itself); otherwise dmesg, whose
 * `[seconds since boot]` stamps are compared with /proc/uptime to keep the same window.
 * journalctl is asked only when a system journal file is readable: without one it has nothing
 * to show, and starting it costs ~14 ms of CPU (a quarter of the check) on hosts without a
 * journal. The uptime is read by the shell itself, without a process.
 */
function collectKernelLog(w: KernelLogWith): string {
  const hours = w.since_hours ?? 24;
  return buildCollector(
    [
      'j=; for f in /var/log/journal/*/system*.journal /run/log/journal/*/system*.journal; do',
      '  if [ -r "$f" ]; then j=1; break; fi; done',
      'if [ -n "$j" ] && command -v journalctl >/dev/null 2>&1 &&',
      '  [ -n "$(journalctl -k -q --no-pager -n 1 2>/dev/null)" ]; then',
      `${section('journal')}; journalctl -k -q --no-pager --since '-${hours}h' 2>&1; ${EXIT_MARKER}`,
      `elif command -v dmesg >/dev/null 2>&1; then ${section('dmesg')}`,
      'up=; read -r up _ 2>/dev/null </proc/uptime; echo "OPSBOOK_UPTIME $up"',
      `dmesg 2>&1; ${EXIT_MARKER}`,
      "else echo 'OPSBOOK_MISSING journalctl dmesg'; fi",
    ].join('\n'),
  );
}

export function parseKernelLog(output: string, w: KernelLogWith): Parsed<KernelLog> {
  return parseToolOutput(output, (out) => {
    for (const source of ['journal', 'dmesg'] as const) {
      if (!out.sections.has(source)) continue;
      const lines = out.lines(source);
      const failure = toolFailure(source, out.marker('EXIT', source), lines);
      if (failure) return unknown(failure);
      if (source === 'journal') return parsed({ source, lines });
      const uptime = toNumber(out.marker('UPTIME', source));
      const stamped = lines.filter((l) => /^\[\s*\d+\.\d+\]/.test(l));
      if (lines.length > 0 && stamped.length === 0)
        return unknown(`dmesg printed no kernel messages: ${excerpt(lines)}`);
      const from = uptime === undefined ? 0 : uptime - (w.since_hours ?? 24) * 3600;
      return parsed({
        source,
        lines: stamped.filter((l) => (toNumber(/^\[\s*(\d+\.\d+)\]/.exec(l)?.[1]) ?? 0) >= from),
      });
    }
    return unknown(excerpt(out.lines()));
  });
}

const OOM = /\bKilled process \d+/;
const DISK_ERRORS = [
  /\bI\/O error\b/,
  /EXT4-fs error/,
  /XFS \([^)]*\): .*(error|[Cc]orruption)/,
  /Medium Error/i,
  /\bBTRFS error\b/,
];

type KernelLogLimits = ReturnType<typeof countLimits>;

const KERNEL_LOG_WITH = {
  properties: {
    since_hours: {
      type: 'integer',
      minimum: 1,
      maximum: 8760,
      default: 24,
      description: 'Look back this many hours',
    },
  },
} as const;

export type KernelLogWith = CheckWith<WithSchemaOf<typeof KERNEL_LOG_WITH, KernelLogLimits>>;

interface KernelLogCheckSpec {
  name: string;
  description: string;
  /** What the matching lines are, in findings and in the limits' descriptions. */
  what: string;
  warn: number;
  crit: number;
  matches: (line: string) => boolean;
}

/** OOM kills and disk errors: the same log, schema and evaluation; what is counted differs. */
function defineKernelLogCheck({
  name,
  description,
  what,
  warn,
  crit,
  matches,
}: KernelLogCheckSpec) {
  return defineCheck({
    name,
    description,
    with: KERNEL_LOG_WITH,
    limits: countLimits(what, warn, crit),
  })({
    collect: collectKernelLog,
    parse: parseKernelLog,
    evaluate: (log, ctx, limits) => evaluateMatches(log, ctx, limits, what, matches),
  });
}

function evaluateMatches(
  log: KernelLog,
  ctx: EvaluateContext<KernelLogWith>,
  limits: KernelLogLimits,
  what: string,
  matches: (l: string) => boolean,
): Finding[] {
  const hits = log.lines.filter(matches);
  const last = hits.at(-1);
  const window = `last ${ctx.with.since_hours ?? 24}h, ${log.source}`;
  return [
    limits.finding(ctx, {
      value: hits.length,
      message:
        hits.length === 0
          ? `no ${what} (${window})`
          : `${hits.length} ${what} (${window}); latest: ${last?.trim().slice(0, 200)}`,
    }),
  ];
}

export const oomKillsCheck = defineKernelLogCheck({
  name: 'inspection.oom-kills',
  description:
    'Processes killed by the kernel OOM killer, from the kernel log (journalctl -k or dmesg)',
  what: 'OOM kills',
  warn: 1,
  crit: 5,
  matches: (l) => OOM.test(l),
});

export const diskErrorsCheck = defineKernelLogCheck({
  name: 'inspection.disk-errors',
  description: 'Disk I/O and filesystem errors in the kernel log (journalctl -k or dmesg)',
  what: 'disk error lines',
  warn: 1,
  crit: 10,
  matches: (l) => DISK_ERRORS.some((re) => re.test(l)),
});
