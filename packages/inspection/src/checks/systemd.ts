import { excerpt, parsed, parseToolOutput, quoteOutput, unknown } from '../collector-output.js';
import { buildCollector, EXIT_MARKER, shellWord, whenTool } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { countLimits } from '../warn-crit-limits.js';
import { unitName } from '../with-schema-fragments.js';

export interface FailedUnit {
  unit: string;
  load: string;
  active: string;
  sub: string;
  description: string;
}

/**
 * The lines systemctl printed, or why it did not answer: not installed, or in its own words
 * (no systemd as PID 1, no bus).
 */
function readSystemctl(output: string): Parsed<string[]> {
  return parseToolOutput(output, (out) => {
    const lines = out.lines();
    const exit = out.marker('EXIT');
    if (exit === undefined)
      return unknown('the collector output is truncated (no exit status of systemctl)');
    if (exit !== '0') return unknown(`systemctl failed (exit ${exit}): ${quoteOutput(lines)}`);
    return parsed(lines);
  });
}

export function parseFailedUnits(output: string): Parsed<FailedUnit[]> {
  const read = readSystemctl(output);
  if (!read.ok) return read;
  const lines = read.data;
  const units: FailedUnit[] = [];
  for (const line of lines) {
    // Older systemd prints a bullet (U+25CF) before each failed unit even with --no-legend; escaped,
    // so that the CLI's bundles stay ASCII (read without decoding UTF-8).
    const m = /^(?:[\u25cf*]\s+)?(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line.trim());
    if (!m) return unknown(excerpt([line]));
    const [, unit = '', load = '', active = '', sub = '', description = ''] = m;
    units.push({ unit, load, active, sub, description });
  }
  return parsed(units);
}

export const failedUnitsCheck = defineCheck({
  name: 'inspection.failed-units',
  description: 'systemd units in the failed state (systemctl list-units --failed)',
  with: {
    properties: {
      ignore: {
        type: 'array',
        items: unitName,
        uniqueItems: true,
        description: 'Failed units to leave out',
      },
    },
  },
  limits: countLimits('failed units', 1, 3),
})({
  collect: () =>
    buildCollector(
      whenTool(
        'systemctl',
        `systemctl list-units --failed --all --no-legend --plain --no-pager 2>&1\n${EXIT_MARKER}`,
      ),
    ),
  parse: parseFailedUnits,
  evaluate: (units, ctx, limits) => {
    const ignored = new Set(ctx.with.ignore ?? []);
    const failed = units.filter(
      (u) => !ignored.has(u.unit) && !ignored.has(u.unit.replace(/\.service$/, '')),
    );
    const names = failed.map((u) => u.unit).join(', ');
    return limits.finding(ctx, {
      value: failed.length,
      message:
        failed.length === 0 ? 'no failed units' : `${failed.length} failed unit(s): ${names}`,
    });
  },
});

export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
}

export function parseUnitState(output: string): Parsed<UnitState> {
  const read = readSystemctl(output);
  if (!read.ok) return read;
  const lines = read.data;
  const props = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const loadState = props.get('LoadState');
  const activeState = props.get('ActiveState');
  if (!loadState || !activeState) return unknown(excerpt(lines));
  return parsed({ loadState, activeState, subState: props.get('SubState') ?? '' });
}

export const unitActiveCheck = defineCheck({
  name: 'inspection.unit-active',
  description: 'One systemd unit is active (or, with expect: inactive, is not running)',
  with: {
    required: ['unit'],
    properties: {
      unit: unitName,
      expect: {
        enum: ['active', 'inactive'],
        default: 'active',
        description: 'The state the unit should be in',
      },
    },
  },
})({
  collect: (w) =>
    buildCollector(
      whenTool(
        'systemctl',
        `systemctl show --no-pager -p LoadState -p ActiveState -p SubState -- ${shellWord(w.unit, 'unit')} 2>&1\n${EXIT_MARKER}`,
      ),
    ),
  parse: parseUnitState,
  evaluate: (s, ctx) => {
    const unit = ctx.with.unit;
    const state = `${s.activeState}${s.subState ? ` (${s.subState})` : ''}`;
    const base = { subject: unit, value: s.activeState, threshold: null };
    if (s.loadState === 'not-found') {
      return makeFinding(ctx, {
        ...base,
        status: 'crit',
        message: `unit ${unit} does not exist on the host`,
      });
    }
    const wantActive = (ctx.with.expect ?? 'active') === 'active';
    const isActive = s.activeState === 'active' || s.activeState === 'reloading';
    const isTransient =
      s.activeState === 'activating' ||
      s.activeState === 'deactivating' ||
      s.activeState === 'reloading';
    const status =
      isActive === wantActive ? (isTransient ? 'warn' : 'ok') : isTransient ? 'warn' : 'crit';
    return makeFinding(ctx, {
      ...base,
      status,
      message: `unit ${unit} is ${state}, expected ${wantActive ? 'active' : 'inactive'}`,
    });
  },
});
