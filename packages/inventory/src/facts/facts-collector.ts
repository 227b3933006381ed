/**
 * The read-only POSIX sh script that prints every fact of a host. Each fact is a part that
 * starts with `OPSBOOK_FACT <name>`; inside a part, the tool that answered is named by
 * `OPSBOOK_SECTION <tool>` and a host without any of the tools prints `OPSBOOK_MISSING <tools>`
 * (the same markers as the inspection collectors, whose parsers read the df, meminfo and socket
 * parts). The script takes no input, writes nowhere but stdout and /dev/null, and exits 0, so a
 * minimal host (BusyBox, no iproute2, no lsblk) still yields every fact it can.
 */
const PARTS: readonly string[] = [
  'LC_ALL=C; LANG=C; export LC_ALL LANG',
  "echo 'OPSBOOK_FACT os'",
  'if [ -r /etc/os-release ]; then cat /etc/os-release',
  'elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release',
  "else echo 'OPSBOOK_MISSING /etc/os-release'; fi",
  "echo 'OPSBOOK_FACT kernel'",
  "uname -s -r -m 2>/dev/null || echo 'OPSBOOK_MISSING uname'",
  "echo 'OPSBOOK_FACT cpu'",
  'if command -v nproc >/dev/null 2>&1; then echo "OPSBOOK_NPROC $(nproc 2>/dev/null)"; fi',
  "if [ -r /proc/cpuinfo ]; then cat /proc/cpuinfo; else echo 'OPSBOOK_MISSING /proc/cpuinfo'; fi",
  "echo 'OPSBOOK_FACT memory'",
  "if [ -r /proc/meminfo ]; then cat /proc/meminfo; else echo 'OPSBOOK_MISSING /proc/meminfo'; fi",
  "echo 'OPSBOOK_FACT filesystems'",
  "if command -v df >/dev/null 2>&1; then df -Pk 2>/dev/null; else echo 'OPSBOOK_MISSING df'; fi",
  "echo 'OPSBOOK_FACT block-devices'",
  "if command -v lsblk >/dev/null 2>&1; then echo 'OPSBOOK_SECTION lsblk'; lsblk -b -P -o NAME,TYPE,SIZE,RO 2>/dev/null",
  // /sys/block sizes are in 512-byte sectors whatever the device's own sector size.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, run on the host
  'elif [ -d /sys/block ]; then echo \'OPSBOOK_SECTION sys\'; for d in /sys/block/*; do [ -r "$d/size" ] && echo "${d##*/} $(cat "$d/size" 2>/dev/null) $(cat "$d/ro" 2>/dev/null)"; done',
  "else echo 'OPSBOOK_MISSING lsblk /sys/block'; fi",
  "echo 'OPSBOOK_FACT interfaces'",
  "if command -v ip >/dev/null 2>&1; then echo 'OPSBOOK_SECTION ip'; ip -o addr show 2>/dev/null",
  "elif [ -r /proc/net/dev ]; then echo 'OPSBOOK_SECTION proc'; cat /proc/net/dev; [ -r /proc/net/if_inet6 ] && cat /proc/net/if_inet6",
  "else echo 'OPSBOOK_MISSING ip /proc/net/dev'; fi",
  "echo 'OPSBOOK_FACT uptime'",
  "if [ -r /proc/uptime ]; then cat /proc/uptime; else echo 'OPSBOOK_MISSING /proc/uptime'; fi",
  "echo 'OPSBOOK_FACT services'",
  "if command -v ss >/dev/null 2>&1; then echo 'OPSBOOK_SECTION ss'; ss -ltnp 2>/dev/null || ss -ltn 2>/dev/null",
  "elif command -v netstat >/dev/null 2>&1; then echo 'OPSBOOK_SECTION netstat'; netstat -ltnp 2>/dev/null || netstat -ltn 2>/dev/null",
  "elif [ -r /proc/net/tcp ]; then echo 'OPSBOOK_SECTION proc'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null",
  "else echo 'OPSBOOK_MISSING ss netstat /proc/net/tcp'; fi",
  'exit 0',
];

export const FACTS_COLLECTOR: string = PARTS.join('\n');

/** The names of the parts the collector prints, in order. */
export const factNames = [
  'os',
  'kernel',
  'cpu',
  'memory',
  'filesystems',
  'block-devices',
  'interfaces',
  'uptime',
  'services',
] as const;

export type FactName = (typeof factNames)[number];

/** Bound the work on an absurd output: far more than any host prints. */
const MAX_LINES = 200_000;

/** Split the collector's stdout into its parts; text before the first part is dropped. */
export function splitFactParts(output: string): ReadonlyMap<string, string> {
  const parts = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of String(output).split('\n', MAX_LINES)) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = /^OPSBOOK_FACT ([a-z-]+)\s*$/.exec(line);
    if (m?.[1]) {
      current = [];
      parts.set(m[1], current);
    } else current?.push(line);
  }
  return new Map([...parts].map(([k, v]) => [k, v.join('\n')]));
}
