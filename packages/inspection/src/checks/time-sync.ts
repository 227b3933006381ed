import {
  parsed,
  quoteOutput,
  readCollectorOutput,
  toNumber,
  unknown,
} from '../collector-output.js';
import { buildCollector, EXIT_MARKER, section } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { warnAndCrit, warnCritLimits } from '../warn-crit-limits.js';
import { count } from '../with-schema-fragments.js';

export type TimeSyncState =
  | {
      source: 'chrony';
      isSynchronised: boolean;
      offsetMs: number;
      leapStatus: string;
      reference: string;
    }
  | { source: 'timesyncd'; isSynchronised: boolean; isNtpEnabled: boolean };

const COLLECTOR = buildCollector(
  [
    'found=',
    `if command -v chronyc >/dev/null 2>&1; then found=1; ${section('chronyc')}; chronyc tracking 2>&1; ${EXIT_MARKER}; fi`,
    `if command -v timedatectl >/dev/null 2>&1; then found=1; ${section('timedatectl')}; timedatectl show -p NTPSynchronized -p NTP 2>&1; ${EXIT_MARKER}; fi`,
    '[ -n "$found" ] || echo \'OPSBOOK_MISSING chronyc timedatectl\'',
  ].join('\n'),
);

function parseChrony(lines: readonly string[]): TimeSyncState | undefined {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const m = /^([A-Za-z ()]+?)\s*:\s*(.*)$/.exec(line);
    if (m?.[1]) fields.set(m[1], (m[2] ?? '').trim());
  }
  const leapStatus = fields.get('Leap status');
  const system = /^([\d.]+) seconds (fast|slow) of NTP time$/.exec(fields.get('System time') ?? '');
  const seconds = toNumber(system?.[1]);
  if (leapStatus === undefined || seconds === undefined) return undefined;
  return {
    source: 'chrony',
    isSynchronised: leapStatus !== 'Not synchronised',
    offsetMs: Math.round(seconds * 1_000_000) / 1000,
    leapStatus,
    reference: fields.get('Reference ID') ?? '',
  };
}

function parseTimedatectl(lines: readonly string[]): TimeSyncState | undefined {
  const synced = lines.find((l) => l.startsWith('NTPSynchronized='))?.split('=')[1];
  const ntp = lines.find((l) => l.startsWith('NTP='))?.split('=')[1];
  if (synced !== 'yes' && synced !== 'no') return undefined;
  return { source: 'timesyncd', isSynchronised: synced === 'yes', isNtpEnabled: ntp === 'yes' };
}

export function parseTimeSync(output: string): Parsed<TimeSyncState> {
  const out = readCollectorOutput(output);
  const reasons: string[] = [];
  for (const [name, parse] of [
    ['chronyc', parseChrony],
    ['timedatectl', parseTimedatectl],
  ] as const) {
    const lines = out.sections.get(name);
    if (!lines) continue;
    const state = out.marker('EXIT', name) === '0' ? parse(lines) : undefined;
    if (state) return parsed(state);
    reasons.push(`${name}: ${quoteOutput(out.lines(name))}`);
  }
  const missing = out.markers.get('MISSING');
  if (missing)
    return unknown(
      `not available on the host: ${missing.join(', ')} (no chrony or systemd-timesyncd)`,
    );
  return unknown(reasons.length ? reasons.join('; ') : 'the collector printed nothing');
}

export const timeSyncCheck = defineCheck({
  name: 'inspection.time-sync',
  description:
    'The clock is synchronised by NTP: chrony (chronyc tracking) or systemd-timesyncd (timedatectl)',
  limits: warnCritLimits({
    name: 'offset_ms',
    worse: 'above',
    unit: 'ms',
    ...warnAndCrit(count, 100, 1000, 'at or above this clock offset in milliseconds (chrony)'),
  }),
})({
  collect: () => COLLECTOR,
  parse: parseTimeSync,
  evaluate: (s, ctx, limits) => {
    if (!s.isSynchronised) {
      const why =
        s.source === 'chrony'
          ? `chrony leap status: ${s.leapStatus}`
          : `timedatectl NTPSynchronized=no${s.isNtpEnabled ? '' : ', NTP disabled'}`;
      return makeFinding(ctx, {
        subject: s.source,
        status: 'crit',
        value: false,
        message: `clock is not synchronised (${why})`,
      });
    }
    if (s.source === 'timesyncd') {
      return makeFinding(ctx, {
        subject: s.source,
        status: 'ok',
        value: true,
        message: 'clock synchronised (systemd-timesyncd)',
      });
    }
    return limits.finding(ctx, {
      subject: s.source,
      value: s.offsetMs,
      message: `clock offset ${s.offsetMs} ms from ${s.reference || 'NTP'} (chrony)`,
    });
  },
});
