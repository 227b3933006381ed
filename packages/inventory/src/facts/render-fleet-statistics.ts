import type { FleetStatistics, GroupStatistics } from './host-facts-schema.js';

/** One JSON document: the statistics and the facts of every host. */
export function renderFleetStatisticsJson(stats: FleetStatistics): string {
  return `${JSON.stringify(stats, null, 2)}\n`;
}

const CSV_COLUMNS: readonly [string, (g: GroupStatistics) => string | number | null][] = [
  ['group', (g) => g.group],
  ['hosts', (g) => g.hosts],
  ['hosts_with_unknown_facts', (g) => g.hostsWithUnknownFacts],
  ['cores', (g) => g.cores],
  ['memory_total_kib', (g) => g.memoryTotalKiB],
  ['memory_used_kib', (g) => g.memoryUsedKiB],
  ['memory_used_pct', (g) => g.memoryUsedPct],
  ['swap_total_kib', (g) => g.swapTotalKiB],
  ['swap_used_kib', (g) => g.swapUsedKiB],
  ['disk_total_kib', (g) => g.diskTotalKiB],
  ['disk_used_kib', (g) => g.diskUsedKiB],
  ['disk_used_pct', (g) => g.diskUsedPct],
  ['os', (g) => g.os.map((o) => `${o.name}=${o.hosts}`).join('; ')],
  ['kernels', (g) => g.kernels.map((k) => `${k.name}=${k.hosts}`).join('; ')],
];

/**
 * RFC 4180 CSV, one record per group, each ended by CRLF. The CRLFs are the only control
 * characters in it: the file is shown with `cat` as often as it is opened in a spreadsheet.
 */
export function renderFleetStatisticsCsv(stats: FleetStatistics): string {
  const rows = [CSV_COLUMNS.map(([name]) => name)];
  for (const g of stats.groups) rows.push(CSV_COLUMNS.map(([, get]) => csvCell(get(g))));
  return `${rows.map((r) => r.join(',')).join('\r\n')}\r\n`;
}

/** C0 (tab, CR and LF included), DEL and C1 (U+009B alone is a CSI). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Quote a cell. A control character (an OS or kernel name from a hostile host may hold an escape
 * sequence, or a CR that hides what came before it) is written as `\xHH`, as opsbook shows it on
 * a terminal, so every record is one line. Text that a spreadsheet would run as a formula is
 * prefixed with `'`, as OWASP's CSV-injection advice says.
 */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const shown = value.replace(
    CONTROL,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  const safe = /^[=+\-@]/.test(shown) ? `'${shown}` : shown;
  return /[",']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Human table: one line per group, then the fullest filesystems of the fleet. */
export function renderFleetStatisticsTable(stats: FleetStatistics): string {
  const header = [
    'GROUP',
    'HOSTS',
    'CORES',
    'MEMORY',
    'MEM%',
    'SWAP',
    'DISK',
    'DISK%',
    'OS',
    'KERNEL',
  ];
  const rows = stats.groups.map((g) => [
    g.group,
    String(g.hosts) + (g.hostsWithUnknownFacts ? ` (${g.hostsWithUnknownFacts}?)` : ''),
    String(g.cores),
    formatKiB(g.memoryTotalKiB),
    formatPct(g.memoryUsedPct),
    formatKiB(g.swapTotalKiB),
    formatKiB(g.diskTotalKiB),
    formatPct(g.diskUsedPct),
    g.os.map((o) => `${o.name} ×${o.hosts}`).join(', '),
    g.kernels.map((k) => `${k.name} ×${k.hosts}`).join(', '),
  ]);
  const out = [alignColumns([header, ...rows])];
  const fullest = stats.groups[0]?.fullestFilesystems ?? [];
  if (fullest.length > 0) {
    const fsRows = fullest.map((f) => [f.host, f.mount, formatKiB(f.sizeKiB), `${f.usedPct}%`]);
    out.push(
      '',
      'Fullest filesystems',
      alignColumns([['HOST', 'MOUNT', 'SIZE', 'USED'], ...fsRows]),
    );
  }
  return `${out.join('\n')}\n`;
}

function alignColumns(rows: readonly (readonly string[])[]): string {
  const clean = rows.map((r) => r.map((c) => c.replace(/[\x00-\x1f\x7f]/g, '?')));
  const widths = clean[0]?.map((_, i) => Math.max(...clean.map((r) => (r[i] ?? '').length))) ?? [];
  return clean
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function formatPct(p: number | null): string {
  return p === null ? '-' : `${p.toFixed(1)}%`;
}

/** KiB in binary units, as df -h and free -h print them. */
export function formatKiB(kib: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = kib;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 10 || u === 0 ? Math.round(v) : v.toFixed(1)}${units[u]}`;
}
