import {
  excerpt,
  parsed,
  parseToolOutput,
  quoteOutput,
  toInt,
  unknown,
} from '../collector-output.js';
import {
  buildCollector,
  NOW_MARKER,
  shellWord,
  timeoutPrefix,
  whenTool,
} from '../collector-script.js';
import { defineCheck, type Parsed } from '../inspection-check.js';
import { warnAndCrit, warnCritLimits } from '../warn-crit-limits.js';
import { absolutePath, count, exactlyOneOf, hostName, tcpPort } from '../with-schema-fragments.js';

export interface CertificateDates {
  /** Seconds since the epoch, from `notAfter=`. */
  notAfter: number;
  /** The host's clock when the collector ran. */
  now: number;
  subject: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Jan  1 00:00:00 2030 GMT`, the only form `openssl x509 -enddate` prints. */
export function parseOpensslDate(text: string): number | undefined {
  const m =
    /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s+(\d{4})\s+GMT$/.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] ?? '');
  if (month < 0) return undefined;
  const ms = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

const isIpAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

function collectFile(file: string): string {
  return whenTool(
    'openssl',
    `openssl x509 -noout -enddate -subject -in ${shellWord(file, 'file')} 2>&1`,
  );
}

/** The certificate a server presents; SNI asks for `servername`, else for a host that is a name. */
function collectServed(
  host: string,
  port: number,
  servername: string | undefined,
  timeout: number,
): string {
  const target = shellWord(`${host.includes(':') ? `[${host}]` : host}:${port}`, 'host');
  const sni = servername ?? (isIpAddress(host) ? undefined : host);
  const sniArg = sni === undefined ? '' : ` -servername ${shellWord(sni, 'servername')}`;
  return whenTool(
    'openssl',
    [
      timeoutPrefix(timeout),
      `$t openssl s_client -connect ${target}${sniArg} </dev/null 2>/dev/null | openssl x509 -noout -enddate -subject 2>&1`,
    ].join('\n'),
  );
}

export function parseCertificateDates(output: string): Parsed<CertificateDates> {
  return parseToolOutput(output, (out) => {
    const lines = out.lines();
    const now = toInt(out.marker('NOW'));
    const endLine = lines.find((l) => l.startsWith('notAfter='));
    if (!endLine) return unknown(`no certificate was read: ${quoteOutput(lines)}`);
    const notAfter = parseOpensslDate(endLine.slice('notAfter='.length));
    if (notAfter === undefined) return unknown(`unreadable expiry date: ${excerpt([endLine])}`);
    if (now === undefined)
      return unknown('the host clock (OPSBOOK_NOW) is missing from the output');
    const subject = (lines.find((l) => l.startsWith('subject=')) ?? '')
      .slice('subject='.length)
      .trim();
    return parsed({ notAfter, now, subject });
  });
}

export const tlsCertCheck = defineCheck({
  name: 'inspection.tls-cert',
  description:
    'Days until a TLS certificate expires: served at host:port (openssl s_client) or in a PEM file',
  with: {
    properties: {
      host: hostName,
      port: { ...tcpPort, default: 443 },
      servername: {
        ...hostName,
        description: 'SNI name to ask for (default: host, unless it is an IP address)',
      },
      file: { ...absolutePath, description: 'PEM certificate file on the host' },
      timeout_s: {
        type: 'integer',
        minimum: 1,
        maximum: 120,
        default: 10,
        description: 'Give up connecting after this many seconds',
      },
    },
    oneOf: exactlyOneOf(['host'], ['file']),
  },
  limits: warnCritLimits({
    name: 'days',
    worse: 'below',
    unit: 'days',
    ...warnAndCrit(count, 30, 7, 'when the certificate expires in this many days or fewer'),
  }),
})({
  collect: (w) =>
    buildCollector(
      NOW_MARKER,
      w.file !== undefined
        ? collectFile(w.file)
        : collectServed(w.host ?? '', w.port ?? 443, w.servername, w.timeout_s ?? 10),
    ),
  parse: parseCertificateDates,
  evaluate: (c, ctx, limits) => {
    const subject = ctx.with.file ?? `${ctx.with.host}:${ctx.with.port ?? 443}`;
    const days = Math.floor((c.notAfter - c.now) / 86400);
    const expiry = new Date(c.notAfter * 1000).toISOString();
    // An expired certificate is crit whatever the limits say.
    if (c.notAfter <= c.now) {
      const message = `certificate ${c.subject} EXPIRED on ${expiry}`;
      return limits.critFinding(ctx, { subject, value: days, message });
    }
    const message = `certificate ${c.subject} expires in ${days} day(s), on ${expiry}`;
    return limits.finding(ctx, { subject, value: days, message });
  },
});
