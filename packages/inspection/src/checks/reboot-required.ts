import { excerpt, parsed, readCollectorOutput, unknown } from '../collector-output.js';
import { buildCollector, EXIT_MARKER, section } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';

export interface RebootState {
  isRequired: boolean;
  how: 'needs-restarting' | 'reboot-required-file' | 'kernel-modules';
  detail: string;
}

/**
 * Three ways to know, by family: RHEL's `needs-restarting -r` (exit 1 = reboot needed), the
 * Debian/Ubuntu flag file written by package scripts, and, elsewhere (Alpine), a running kernel
 * whose modules are gone because a newer kernel replaced them.
 */
const COLLECTOR = buildCollector(
  [
    `if command -v needs-restarting >/dev/null 2>&1; then ${section('needs-restarting')}; needs-restarting -r 2>&1; ${EXIT_MARKER}; fi`,
    `if [ -e /etc/debian_version ]; then ${section('debian')}`,
    '  if [ -e /var/run/reboot-required ]; then echo "OPSBOOK_FLAG present"; else echo "OPSBOOK_FLAG absent"; fi',
    "  if [ -r /var/run/reboot-required.pkgs ]; then sed 's/^/OPSBOOK_PKG /' /var/run/reboot-required.pkgs; fi",
    'fi',
    `if [ -d /lib/modules ]; then ${section('modules')}; echo "OPSBOOK_KERNEL $(uname -r)"; ls /lib/modules 2>/dev/null; fi`,
  ].join('\n'),
);

export function parseRebootRequired(output: string): Parsed<RebootState> {
  const out = readCollectorOutput(output);
  if (out.sections.has('needs-restarting')) {
    const exit = out.marker('EXIT', 'needs-restarting');
    const text = out.lines('needs-restarting');
    const detail = text.join(' ').replace(/\s+/g, ' ').slice(0, 200);
    if (exit === '1' && text.some((l) => /Reboot is required/i.test(l)))
      return parsed({ isRequired: true, how: 'needs-restarting', detail });
    if (exit === '0') return parsed({ isRequired: false, how: 'needs-restarting', detail });
    return unknown(`needs-restarting -r failed (exit ${exit ?? 'missing'}): ${excerpt(text)}`);
  }
  const flag = out.marker('FLAG', 'debian');
  if (flag === 'present' || flag === 'absent') {
    const pkgs = out.sectionMarkers.get('debian')?.get('PKG') ?? [];
    const detail =
      flag === 'present'
        ? `/var/run/reboot-required exists${pkgs.length ? ` (for ${[...new Set(pkgs)].join(', ')})` : ''}`
        : 'no /var/run/reboot-required';
    return parsed({ isRequired: flag === 'present', how: 'reboot-required-file', detail });
  }
  const kernel = out.marker('KERNEL', 'modules');
  const installed = out.lines('modules').map((l) => l.trim());
  if (kernel && installed.length > 0) {
    const isRequired = !installed.includes(kernel);
    const detail = isRequired
      ? `running kernel ${kernel} has no modules; installed: ${installed.join(', ')}`
      : `running kernel ${kernel} is installed`;
    return parsed({ isRequired, how: 'kernel-modules', detail });
  }
  return unknown(
    `no way to tell on this host (no needs-restarting, no Debian flag file, no kernel modules): ${excerpt(out.lines())}`,
  );
}

export const rebootRequiredCheck = defineCheck({
  name: 'inspection.reboot-required',
  description:
    'The host needs a reboot to use updated packages (Debian flag file, needs-restarting -r, kernel modules)',
  with: {
    properties: {
      severity: {
        enum: ['warn', 'crit'],
        default: 'warn',
        description: 'Status of a host that needs a reboot',
      },
    },
  },
})({
  collect: () => COLLECTOR,
  parse: parseRebootRequired,
  evaluate: (r, ctx) =>
    makeFinding(ctx, {
      status: r.isRequired ? (ctx.with.severity ?? 'warn') : 'ok',
      value: r.isRequired,
      message: `${r.isRequired ? 'reboot required' : 'no reboot required'}: ${r.detail} (${r.how})`,
    }),
});
