import { excerpt, parsed, parseToolOutput, toolFailure, unknown } from '../collector-output.js';
import { buildCollector, EXIT_MARKER, section, shellWord } from '../collector-script.js';
import { compareDebianVersions } from '../compare-debian-versions.js';
import { defineCheck, type Parsed } from '../inspection-check.js';
import { countLimits } from '../warn-crit-limits.js';

export interface PendingUpdates {
  manager: 'apt' | 'dnf' | 'yum' | 'apk';
  /** Packages with a pending security update (on apk: every pending update, see below). */
  packages: string[];
  /** Advisories by severity, when the package manager classifies them (dnf, yum). */
  severities: Record<string, number>;
}

/**
 * apt, fast path: the installed versions (dpkg's status file) against the package lists of the
 * security suites apt already downloaded (`*-security`, and `<codename>/updates` of old Debian).
 * A package has a pending security update when a security suite holds a newer version than the
 * installed one — Ubuntu update-notifier's rule, which also counts a fix that a later point
 * release superseded. It reads ~3 MB instead of building apt's whole cache (2–3 s of CPU per
 * host), and prints only the packages whose versions differ; the parser decides which is newer.
 * Used when every such list is readable (compressed ones by gzip, xz, lz4, zstd or bzip2 when
 * the host has the tool, else by `apt-helper cat-file`); otherwise, and when no security suite
 * is configured, `apt-get -s upgrade` answers.
 */
export function aptListsScript(
  status = '/var/lib/dpkg/status',
  listsDir = '/var/lib/apt/lists',
): string {
  const dir = shellWord(listsDir, 'apt lists folder');
  return [
    `set -- ${dir}/*_dists_*-security_*_Packages* ${dir}/*_dists_*_updates_*_Packages*`,
    // $t: the decompressor of list $1 when the host has it; else apt-helper (if it can cat-file).
    'tool() { case $1 in *.gz) t=gzip ;; *.xz|*.lzma) t=xz ;; *.lz4) t=lz4 ;; *.zst) t=zstd ;;',
    '  *.bz2) t=bzip2 ;; *) t= ;; esac; command -v "$t" >/dev/null 2>&1 || t=; }',
    'helper() { if [ -z "$h" ]; then h=0',
    '  /usr/lib/apt/apt-helper cat-file /dev/null >/dev/null 2>&1 && h=1; fi; [ "$h" = 1 ]; }',
    'fast=; h=; for f; do case $f in',
    '  *_Packages) if [ -r "$f" ]; then [ "$fast" = 0 ] || fast=1; else fast=0; fi ;;',
    '  *_Packages.gz|*_Packages.xz|*_Packages.lz4|*_Packages.zst|*_Packages.bz2|*_Packages.lzma)',
    '    tool "$f"; if [ -r "$f" ] && { [ -n "$t" ] || helper; }; then',
    '      [ "$fast" = 0 ] || fast=1; else fast=0; fi ;;',
    'esac; done',
    `if [ "$fast" = 1 ]; then ${section('apt-lists')}`,
    '{ for f; do case $f in',
    '  *_Packages) cat "$f" || echo "OPSBOOK_UNREADABLE $f" ;;',
    '  *_Packages.*) tool "$f"',
    '    if [ -n "$t" ]; then "$t" -dc "$f"; else /usr/lib/apt/apt-helper cat-file "$f"; fi ||',
    '      echo "OPSBOOK_UNREADABLE $f" ;;',
    '  *) continue ;;',
    `esac; echo; done; } | awk ${shellWord(DIFFER_AWK, 'awk program')} ${shellWord(status, 'dpkg status file')} -; ${EXIT_MARKER}`,
    'else',
  ].join('\n');
}

/**
 * Reads the status file, then the lists from stdin; prints `name arch installed listed` for each
 * installed package a list holds at another version. Markers pass through.
 */
const DIFFER_AWK = [
  'function flush() {',
  '  if (p != "") {',
  '    k = p " " a',
  '    if (src == "status") { if (s == "installed") v0[k] = v }',
  '    else if ((k in v0) && v0[k] != v) print k, v0[k], v',
  '  }',
  '  p = ""; a = ""; v = ""; s = ""',
  '}',
  'FNR == 1 { flush(); src = (FILENAME == "-") ? "lists" : "status" }',
  '/^OPSBOOK_/ { print; next }',
  '/^Package: / { p = $2; next }',
  '/^Architecture: / { a = $2; next }',
  '/^Version: / { v = $2; next }',
  '/^Status: / { s = $NF; next }',
  '/^$/ { flush() }',
  'END { flush() }',
].join('\n');

/**
 * Simulations only, from the host's own package metadata: nothing is refreshed or installed
 * (apt-get -s without the lock, dnf/yum -C from the cache), so the answer is as fresh as the
 * host's last metadata refresh.
 */
const COLLECTOR = buildCollector(
  [
    'if command -v apt-get >/dev/null 2>&1; then',
    aptListsScript(),
    `${section('apt')}`,
    `apt-get -s -o Debug::NoLocking=1 upgrade 2>&1; ${EXIT_MARKER}`,
    'fi',
    `elif command -v dnf >/dev/null 2>&1; then ${section('dnf')}`,
    `dnf -q -C updateinfo list --security 2>&1; ${EXIT_MARKER}`,
    `elif command -v yum >/dev/null 2>&1; then ${section('yum')}`,
    `yum -q -C updateinfo list security 2>&1; ${EXIT_MARKER}`,
    `elif command -v apk >/dev/null 2>&1; then ${section('apk')}`,
    `apk version -l '<' 2>&1; ${EXIT_MARKER}`,
    "else echo 'OPSBOOK_MISSING apt-get dnf yum apk'; fi",
  ].join('\n'),
);

/** `Inst libssl3 [3.0.11-1~deb12u2] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])` */
function parseApt(lines: readonly string[]): string[] | undefined {
  if (!lines.some((l) => /^(Reading package lists|Inst |Calculating upgrade|\d+ upgraded)/.test(l)))
    return undefined;
  const packages = new Set<string>();
  for (const line of lines) {
    const m = /^Inst (\S+)(?: \[[^\]]*\])? \((.*)\)/.exec(line);
    if (m?.[1] && /security/i.test(m[2] ?? '')) packages.add(m[1]);
  }
  return [...packages];
}

/**
 * `libssl3 amd64 3.0.11-1~deb12u2 3.0.13-1~deb12u1`: installed and listed version of a package
 * whose versions differ; pending when the listed one is newer.
 */
function parseAptLists(lines: readonly string[]): string[] | undefined {
  const packages = new Set<string>();
  for (const line of lines) {
    const [name, arch, installed, listed, extra] = line.trim().split(/\s+/);
    if (!name || !arch || !installed || !listed || extra !== undefined) return undefined;
    if (compareDebianVersions(installed, listed) < 0) packages.add(name);
  }
  return [...packages];
}

/** `RHSA-2020:2894 Important/Sec. dbus-1:1.10.24-14.el7_8.x86_64` */
function parseUpdateinfo(lines: readonly string[]): Omit<PendingUpdates, 'manager'> | undefined {
  const packages = new Set<string>();
  const severities: Record<string, number> = {};
  const advisories = new Set<string>();
  for (const line of lines) {
    const m = /^\s*([A-Z][A-Za-z0-9]*-[\w:.-]+)\s+(?:(\w+)\/Sec\.|security)\s+(\S+)\s*$/.exec(line);
    if (!m?.[1] || !m[3]) continue;
    packages.add(m[3]);
    if (!advisories.has(m[1])) {
      advisories.add(m[1]);
      const sev = m[2] ?? 'Unknown';
      severities[sev] = (severities[sev] ?? 0) + 1;
    }
  }
  const isRecognised =
    packages.size > 0 ||
    lines.every((l) => /^(Loaded plugins|\s*:|Last metadata|updateinfo list done|\s*$)/.test(l));
  return isRecognised ? { packages: [...packages], severities } : undefined;
}

/** `busybox-1.36.1-r2            < 1.36.1-r5` */
function parseApk(lines: readonly string[]): string[] | undefined {
  const rows = lines.filter((l) => !/^Installed:/.test(l));
  const packages = rows.map((l) => /^(\S+)\s+<\s+\S+/.exec(l)?.[1]);
  if (packages.some((p) => p === undefined)) return undefined;
  return packages.filter((p): p is string => p !== undefined);
}

export function parseSecurityUpdates(output: string): Parsed<PendingUpdates> {
  return parseToolOutput(output, (out) => {
    const unreadable = out.markers.get('UNREADABLE');
    if (unreadable) return unknown(`cannot read the apt list ${unreadable.join(', ')}`);
    for (const part of ['apt-lists', 'apt', 'dnf', 'yum', 'apk'] as const) {
      if (!out.sections.has(part)) continue;
      const manager = part === 'apt-lists' ? 'apt' : part;
      const lines = out.lines(part);
      const failure = toolFailure(manager, out.marker('EXIT', part), lines);
      if (failure) return unknown(failure);
      if (manager === 'dnf' || manager === 'yum') {
        const info = parseUpdateinfo(lines);
        return info ? parsed({ manager, ...info }) : unknown(excerpt(lines));
      }
      const packages =
        part === 'apt-lists'
          ? parseAptLists(lines)
          : part === 'apt'
            ? parseApt(lines)
            : parseApk(lines);
      return packages ? parsed({ manager, packages, severities: {} }) : unknown(excerpt(lines));
    }
    return unknown(excerpt(out.lines()));
  });
}

export const securityUpdatesCheck = defineCheck({
  name: 'inspection.security-updates',
  description:
    'Pending security updates (apt: security suites vs installed versions, dnf/yum updateinfo, apk version on Alpine)',
  limits: countLimits('packages with a security update', 1, 10),
})({
  collect: () => COLLECTOR,
  parse: parseSecurityUpdates,
  evaluate: (u, ctx, limits) => {
    const n = u.packages.length;
    // Alpine's apk has no security classification: every pending update is counted.
    const what =
      u.manager === 'apk'
        ? 'pending update(s) (apk cannot tell security ones apart)'
        : 'package(s) with a security update';
    const sev = Object.entries(u.severities)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const list = u.packages.slice(0, 10).join(', ');
    const message =
      n === 0
        ? `no pending security updates (${u.manager})`
        : `${n} ${what}${sev ? ` [${sev}]` : ''}: ${list}${n > 10 ? ', …' : ''}`;
    return limits.finding(ctx, { subject: u.manager, value: n, message });
  },
});
