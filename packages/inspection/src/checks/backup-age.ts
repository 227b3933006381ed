import { excerpt, parsed, parseToolOutput, toInt, toNumber, unknown } from '../collector-output.js';
import { buildCollector, NOW_MARKER, section, shellWord } from '../collector-script.js';
import { defineCheck, type Parsed } from '../inspection-check.js';
import { warnAndCrit, warnCritLimits } from '../warn-crit-limits.js';
import { absolutePath, count } from '../with-schema-fragments.js';

export interface NewestBackup {
  state: 'found' | 'empty' | 'absent';
  /** The host's clock when the collector ran, seconds since the epoch. */
  now: number;
  /** The newest file, when `state` is `found`. */
  newest?: { mtime: number; size: number; path: string };
}

/**
 * GNU find prints the mtime itself; BusyBox find has no -printf, so stat does it there. Only
 * the newest file leaves the host, however many backups the folder holds.
 */
function collectNewestFile(folder: string, name: string, maxDepth: number): string {
  const select = `find "$d" -mindepth 1 -maxdepth ${maxDepth} -type f -name ${shellWord(name, 'name')}`;
  return [
    `d=${shellWord(folder, 'path')}`,
    'if [ ! -d "$d" ]; then echo "OPSBOOK_ABSENT $d"',
    `elif find "$d" -maxdepth 0 -printf '' >/dev/null 2>&1; then ${section('find')}`,
    `${select} -printf '%T@ %s %p\\n' 2>/dev/null | sort -n | tail -n 1`,
    `else ${section('stat')}`,
    `${select} -exec stat -c '%Y %s %n' {} + 2>/dev/null | sort -n | tail -n 1`,
    'fi',
  ].join('\n');
}

export function parseBackupAge(output: string): Parsed<NewestBackup> {
  return parseToolOutput(output, (out) => {
    const now = toInt(out.marker('NOW'));
    if (now === undefined)
      return unknown(`the host clock (OPSBOOK_NOW) is missing: ${excerpt(out.lines())}`);
    if (out.marker('ABSENT') !== undefined) return parsed({ state: 'absent', now });
    const section = out.sections.has('find')
      ? 'find'
      : out.sections.has('stat')
        ? 'stat'
        : undefined;
    if (!section) return unknown(excerpt(out.lines()));
    const lines = out.lines(section);
    if (lines.length === 0) return parsed({ state: 'empty', now });
    const m = /^(\d+(?:\.\d+)?) (\d+) (.*)$/.exec(lines.at(-1) ?? '');
    const mtime = toNumber(m?.[1]);
    const size = toInt(m?.[2]);
    if (mtime === undefined || size === undefined) return unknown(excerpt(lines));
    return parsed({
      state: 'found',
      now,
      newest: { mtime: Math.floor(mtime), size, path: m?.[3] ?? '' },
    });
  });
}

export const backupAgeCheck = defineCheck({
  name: 'inspection.backup-age',
  description: 'Age of the newest backup file in a folder',
  with: {
    required: ['path'],
    properties: {
      path: { ...absolutePath, description: 'Folder that holds the backups' },
      name: {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        default: '*',
        description: 'find -name glob of backup files, e.g. *.dump',
      },
      max_depth: {
        type: 'integer',
        minimum: 1,
        maximum: 10,
        default: 1,
        description: 'How deep to look below the folder',
      },
    },
  },
  limits: warnCritLimits({
    name: 'hours',
    worse: 'above',
    unit: 'hours',
    ...warnAndCrit(count, 26, 50, 'when the newest backup is this many hours old or older'),
  }),
})({
  collect: (w) =>
    buildCollector(NOW_MARKER, collectNewestFile(w.path, w.name ?? '*', w.max_depth ?? 1)),
  parse: parseBackupAge,
  evaluate: (b, ctx, limits) => {
    const subject = ctx.with.path;
    if (!b.newest) {
      const why =
        b.state === 'absent'
          ? `backup folder ${subject} does not exist`
          : `no file matching ${ctx.with.name ?? '*'} in ${subject}`;
      return limits.critFinding(ctx, { subject, value: null, message: why });
    }
    const hours = Math.round(((b.now - b.newest.mtime) / 3600) * 10) / 10;
    const mb = Math.round((b.newest.size / 1048576) * 10) / 10;
    return limits.finding(ctx, {
      subject,
      value: hours,
      message: `newest backup ${b.newest.path} (${mb} MiB) is ${hours} h old`,
    });
  },
});
