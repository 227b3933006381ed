import { excerpt, parsed, parseToolOutput, toInt, unknown } from '../collector-output.js';
import { buildCollector, firstTool } from '../collector-script.js';
import {
  type CheckWith,
  defineCheck,
  type EvaluateContext,
  type Finding,
  makeFinding,
  type Parsed,
  type WithSchemaOf,
} from '../inspection-check.js';
import { percentLimits } from '../warn-crit-limits.js';
import { absolutePath } from '../with-schema-fragments.js';

/** One row of `df -P` or `df -Pi`: sizes in KiB (or inodes), `usedPct` as df prints it. */
export interface DfRow {
  filesystem: string;
  mount: string;
  total: number;
  used: number;
  available: number;
  usedPct: number;
}

/** Pseudo filesystems whose fill level says nothing about the host's disks. */
const DEFAULT_EXCLUDED = ['tmpfs', 'devtmpfs', 'udev', 'shm', 'none', 'run', 'cgroup', 'efivarfs'];
const ROW = /^(.+?)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+%|-)\s+(\/.*)$/;

/**
 * Parse POSIX `df -P` output (GNU coreutils and BusyBox alike). Rows whose size df reports as
 * `-` or 0 (filesystems without inodes, pseudo filesystems) are dropped.
 */
export function parseDf(output: string): Parsed<DfRow[]> {
  return parseToolOutput(output, (out) => {
    const lines = out.lines();
    const header = lines.findIndex((l) => /^Filesystem\s/.test(l));
    if (header < 0) return unknown(excerpt(lines));
    const rows: DfRow[] = [];
    for (const line of lines.slice(header + 1)) {
      const m = ROW.exec(line);
      if (!m) continue;
      const [, filesystem = '', total, used, available, pct, mount = ''] = m;
      const t = toInt(total);
      const u = toInt(used);
      const a = toInt(available);
      if (t === undefined || u === undefined || a === undefined || t === 0) continue;
      const printed = toInt(pct?.replace('%', ''));
      const usedPct = printed ?? (u + a === 0 ? 0 : Math.ceil((u * 100) / (u + a)));
      rows.push({ filesystem, mount, total: t, used: u, available: a, usedPct });
    }
    if (rows.length === 0) return unknown(`df listed no filesystem with a size: ${excerpt(lines)}`);
    return parsed(rows);
  });
}

type FilesystemLimits = ReturnType<typeof percentLimits>;

const FILESYSTEM_WITH = {
  properties: {
    mounts: {
      type: 'array',
      items: absolutePath,
      uniqueItems: true,
      description: 'Only these mount points; each must be mounted (default: every real filesystem)',
    },
    exclude_filesystems: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: `Filesystem names (df's first column) to skip; default ${DEFAULT_EXCLUDED.join(', ')}`,
    },
  },
} as const;

export type FilesystemWith = CheckWith<WithSchemaOf<typeof FILESYSTEM_WITH, FilesystemLimits>>;

/** Disk space and inodes share a with: schema and an evaluation; only the word and df's option differ. */
function defineFilesystemCheck(name: string, description: string, what: 'space' | 'inode') {
  const df = what === 'space' ? 'df -Pk' : 'df -Pi';
  return defineCheck({
    name,
    description,
    with: FILESYSTEM_WITH,
    limits: percentLimits(`${what} use`, 80, 90),
  })({
    collect: () => buildCollector(firstTool([['df', `${df} 2>/dev/null`]])),
    parse: parseDf,
    evaluate: (rows, ctx, limits) => evaluateRows(rows, ctx, limits, what),
  });
}

function evaluateRows(
  rows: DfRow[],
  ctx: EvaluateContext<FilesystemWith>,
  limits: FilesystemLimits,
  what: 'space' | 'inode',
): Finding[] {
  const excluded = new Set(ctx.with.exclude_filesystems ?? DEFAULT_EXCLUDED);
  const wanted = ctx.with.mounts;
  const findings: Finding[] = [];
  const selected = wanted
    ? rows.filter((r) => wanted.includes(r.mount))
    : rows.filter((r) => !excluded.has(r.filesystem));
  for (const r of selected) {
    findings.push(
      limits.finding(ctx, {
        subject: r.mount,
        value: r.usedPct,
        message: `${r.mount} (${r.filesystem}) ${what} ${r.usedPct}% used, ${r.available} ${what === 'space' ? 'KiB' : 'inodes'} free`,
      }),
    );
  }
  for (const mount of wanted ?? []) {
    if (selected.some((r) => r.mount === mount)) continue;
    findings.push(
      makeFinding(ctx, {
        subject: mount,
        status: 'unknown',
        value: null,
        message: `${mount} is not a mounted filesystem on the host`,
      }),
    );
  }
  return findings;
}

export const diskCheck = defineFilesystemCheck(
  'inspection.disk',
  'Filesystem space use per mount point (df -P)',
  'space',
);

export const inodesCheck = defineFilesystemCheck(
  'inspection.inodes',
  'Filesystem inode use per mount point (df -Pi)',
  'inode',
);
