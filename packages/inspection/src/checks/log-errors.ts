import { excerpt, parsed, parseToolOutput, toInt, unknown } from '../collector-output.js';
import { buildCollector, shellWord, whenTool } from '../collector-script.js';
import { defineCheck, type Parsed } from '../inspection-check.js';
import { countLimits } from '../warn-crit-limits.js';
import { absolutePath, exactlyOneOf, unitName } from '../with-schema-fragments.js';

export interface LogErrorCount {
  lines: number;
  matches: number;
}

const DEFAULT_PATTERN = 'error|fatal|critical|panic';

/** grep -c prints 0 (and exits 1) when nothing matches. */
const countMatches = (pattern: string, isCaseSensitive: boolean) =>
  `grep -c -E${isCaseSensitive ? '' : ' -i'} -e ${shellWord(pattern, 'pattern')}`;

/** Both counts come from the same window: the last lines of a file. */
function collectFileWindow(file: string, lines: number, grep: string): string {
  const tail = `tail -n ${lines} "$f"`;
  return [
    `f=${shellWord(file, 'file')}`,
    'if [ ! -e "$f" ]; then echo "OPSBOOK_ABSENT $f"; elif [ ! -r "$f" ]; then echo "OPSBOOK_UNREADABLE $f"; else',
    `echo "OPSBOOK_LINES $(${tail} | wc -l)"`,
    `echo "OPSBOOK_MATCHES $(${tail} | ${grep})"`,
    'fi',
  ].join('\n');
}

/** Both counts come from the same window: the last minutes of a unit's journal. */
function collectUnitWindow(unit: string, minutes: number, grep: string): string {
  const journal = `journalctl -u ${shellWord(unit, 'unit')} --since '-${minutes}min' -q --no-pager -o cat 2>/dev/null`;
  return whenTool(
    'journalctl',
    [
      `echo "OPSBOOK_LINES $(${journal} | wc -l)"`,
      `echo "OPSBOOK_MATCHES $(${journal} | ${grep})"`,
    ].join('\n'),
  );
}

export function parseLogErrors(output: string): Parsed<LogErrorCount> {
  return parseToolOutput(output, (out) => {
    const absent = out.marker('ABSENT');
    if (absent !== undefined) return unknown(`log file ${absent} does not exist on the host`);
    const unreadable = out.marker('UNREADABLE');
    if (unreadable !== undefined)
      return unknown(`log file ${unreadable} is not readable (run the step with sudo?)`);
    const lines = toInt(out.marker('LINES'));
    const matches = toInt(out.marker('MATCHES'));
    if (lines === undefined || matches === undefined || matches > lines)
      return unknown(excerpt(out.lines()));
    return parsed({ lines, matches });
  });
}

export const logErrorsCheck = defineCheck({
  name: 'inspection.log-errors',
  description:
    'Lines matching an error pattern in the last N lines of a log file, or the last N minutes of a unit',
  with: {
    properties: {
      file: { ...absolutePath, description: 'Log file to read' },
      unit: { ...unitName, description: 'systemd unit whose journal to read' },
      pattern: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        default: DEFAULT_PATTERN,
        description: 'POSIX extended regular expression (grep -E)',
      },
      case_sensitive: { type: 'boolean', default: false },
      lines: {
        type: 'integer',
        minimum: 1,
        maximum: 10_000_000,
        default: 1000,
        description: 'Read this many last lines (file)',
      },
      minutes: {
        type: 'integer',
        minimum: 1,
        maximum: 525_600,
        default: 60,
        description: 'Read this many last minutes (unit)',
      },
    },
    oneOf: exactlyOneOf(['file'], ['unit']),
  },
  limits: countLimits('matching lines', 10, 100),
})({
  collect: (w) => {
    const grep = countMatches(w.pattern ?? DEFAULT_PATTERN, w.case_sensitive ?? false);
    return buildCollector(
      w.file !== undefined
        ? collectFileWindow(w.file, w.lines ?? 1000, grep)
        : collectUnitWindow(w.unit ?? '', w.minutes ?? 60, grep),
    );
  },
  parse: parseLogErrors,
  evaluate: (c, ctx, limits) => {
    const subject = ctx.with.file ?? ctx.with.unit ?? '';
    const window =
      ctx.with.file !== undefined
        ? `last ${c.lines} line(s)`
        : `last ${ctx.with.minutes ?? 60} min, ${c.lines} line(s)`;
    return limits.finding(ctx, {
      subject,
      value: c.matches,
      message: `${c.matches} line(s) match /${ctx.with.pattern ?? DEFAULT_PATTERN}/ in ${subject} (${window})`,
    });
  },
});
