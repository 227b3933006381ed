import { excerpt, parsed, parseToolOutput, toInt, unknown } from '../collector-output.js';
import { buildCollector, section, whenTool } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { countLimits, namedLimits } from '../warn-crit-limits.js';
import { count, exactlyOneOf } from '../with-schema-fragments.js';

export interface ProcessRow {
  pid: number;
  stat: string;
  /** The kernel's process name (at most 15 characters on Linux). */
  comm: string;
  args: string;
}

/**
 * `comm` and `args` may both contain spaces, so they come from two listings joined by pid.
 * The same options work for procps and BusyBox ps; matching happens in the parser, so no
 * `with:` value ever reaches the host's shell.
 */
const PS_COLLECTOR = buildCollector(
  whenTool(
    'ps',
    [
      section('comm'),
      'ps -eo pid=,stat=,comm= 2>/dev/null',
      section('args'),
      'ps -eo pid=,args= 2>/dev/null',
    ].join('\n'),
  ),
);

/** Zombies need the state and name only: one listing, one process less on every host. */
const ZOMBIES_COLLECTOR = buildCollector(
  whenTool('ps', [section('comm'), 'ps -eo pid=,stat=,comm= 2>/dev/null'].join('\n')),
);

export function parsePs(output: string): Parsed<ProcessRow[]> {
  return parseToolOutput(output, (out) => {
    const args = new Map<number, string>();
    for (const line of out.lines('args')) {
      const m = /^\s*(\d+)\s(.*)$/.exec(line);
      const pid = toInt(m?.[1]);
      if (pid !== undefined) args.set(pid, (m?.[2] ?? '').trim());
    }
    const rows: ProcessRow[] = [];
    const lines = out.lines('comm');
    for (const line of lines) {
      const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
      const pid = toInt(m?.[1]);
      if (pid === undefined || !m) continue;
      const comm = (m[3] ?? '').trim();
      rows.push({ pid, stat: m[2] ?? '', comm, args: args.get(pid) ?? comm });
    }
    // A host always runs at least its init and the collector's own shell.
    if (rows.length === 0)
      return unknown(`ps listed no process: ${excerpt([...lines, ...out.lines()])}`);
    return parsed(rows);
  });
}

function matcher(
  name: string | undefined,
  pattern: string | undefined,
): ((p: ProcessRow) => boolean) | string {
  if (pattern !== undefined) {
    try {
      const re = new RegExp(pattern, 'u');
      return (p) => re.test(p.args);
    } catch (e) {
      return `pattern is not a valid regular expression (${(e as Error).message})`;
    }
  }
  if (name === undefined) return 'give name or pattern';
  // The kernel truncates comm to 15 bytes; BusyBox shows the same truncation.
  return (p) => p.comm === name || p.comm === name.slice(0, 15);
}

export const processCheck = defineCheck({
  name: 'inspection.process',
  description:
    'A process is running: by exact name, or by a regular expression over its command line',
  with: {
    properties: {
      name: {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        description: 'Process name as ps comm shows it (e.g. nginx)',
      },
      pattern: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        description: 'JavaScript regular expression matched against the full command line',
      },
    },
    oneOf: exactlyOneOf(['name'], ['pattern']),
  },
  limits: namedLimits({
    min_count: count(1, 'crit below this many matching processes'),
    max_count: count(10000, 'warn above this many matching processes'),
  }),
})({
  collect: () => PS_COLLECTOR,
  parse: parsePs,
  evaluate: (rows, ctx, limits) => {
    const subject = ctx.with.name ?? ctx.with.pattern ?? '';
    const match = matcher(ctx.with.name, ctx.with.pattern);
    if (typeof match === 'string') {
      return makeFinding(ctx, { subject, status: 'unknown', value: null, message: match });
    }
    const found = rows.filter(match);
    const { min_count: min, max_count: max } = limits.read(ctx);
    const base = { subject, value: found.length, unit: 'count' };
    const pids = found
      .slice(0, 10)
      .map((p) => p.pid)
      .join(', ');
    if (found.length < min) {
      return makeFinding(ctx, {
        ...base,
        status: 'crit',
        threshold: min,
        message: `${found.length} process(es) match ${subject}, expected at least ${min}`,
      });
    }
    if (found.length > max) {
      return makeFinding(ctx, {
        ...base,
        status: 'warn',
        threshold: max,
        message: `${found.length} processes match ${subject}, more than ${max}`,
      });
    }
    return makeFinding(ctx, {
      ...base,
      status: 'ok',
      threshold: min,
      message: `${found.length} process(es) match ${subject} (pid ${pids})`,
    });
  },
});

export const zombiesCheck = defineCheck({
  name: 'inspection.zombies',
  description: 'Zombie (defunct) processes waiting for their parent to reap them',
  limits: countLimits('zombies', 5, 50),
})({
  collect: () => ZOMBIES_COLLECTOR,
  parse: parsePs,
  evaluate: (rows, ctx, limits) => {
    const zombies = rows.filter((p) => p.stat.startsWith('Z'));
    const which = zombies
      .slice(0, 10)
      .map((p) => `${p.comm}[${p.pid}]`)
      .join(', ');
    return limits.finding(ctx, {
      value: zombies.length,
      message:
        zombies.length === 0
          ? 'no zombie processes'
          : `${zombies.length} zombie process(es): ${which}`,
    });
  },
});
