import {
  excerpt,
  parsed,
  parseToolOutput,
  quoteOutput,
  toInt,
  toNumber,
  unknown,
} from '../collector-output.js';
import {
  buildCollector,
  EXIT_MARKER,
  section,
  shellWord,
  timeoutPrefix,
} from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { warnAndCrit, warnCritLimits } from '../warn-crit-limits.js';
import { count, exactlyOneOf, hostName, tcpPort } from '../with-schema-fragments.js';

export interface EndpointProbe {
  via: 'curl' | 'wget' | 'bash' | 'nc';
  isReachable: boolean;
  httpStatus?: number;
  /** Total time of the request, when the tool reports it (curl). */
  ms?: number;
  detail: string;
}

function collectUrl(url: string, timeout: number): string {
  const u = shellWord(url, 'url');
  return [
    `if command -v curl >/dev/null 2>&1; then ${section('curl')}`,
    `curl -sS -o /dev/null --max-time ${timeout} -w 'OPSBOOK_HTTP %{http_code} %{time_total}\\n' ${u} 2>&1; ${EXIT_MARKER}`,
    `elif command -v wget >/dev/null 2>&1; then ${section('wget')}`,
    // -S prints the response headers (status lines) on stderr, for GNU and BusyBox wget alike;
    // the time limit comes from timeout(1) because BusyBox 1.35 wget crashes on -T.
    timeoutPrefix(timeout),
    `$t wget -S -O /dev/null ${u} 2>&1; ${EXIT_MARKER}`,
    "else echo 'OPSBOOK_MISSING curl wget'; fi",
  ].join('\n');
}

function collectTcp(host: string, port: number, timeout: number): string {
  const h = shellWord(host, 'host');
  const p = shellWord(port, 'port');
  return [
    `if command -v bash >/dev/null 2>&1; then ${section('bash')}`,
    // Host and port reach bash as positional parameters, never as part of its script text.
    timeoutPrefix(timeout),
    `$t bash -c 'exec 3<>"/dev/tcp/$1/$2"' opsbook-probe ${h} ${p} 2>&1; ${EXIT_MARKER}`,
    `elif command -v nc >/dev/null 2>&1; then ${section('nc')}`,
    // BusyBox nc has no -z: there a plain connect with stdin at EOF is the probe.
    `{ nc -z -w ${timeout} ${h} ${p} 2>/dev/null || nc -w ${timeout} ${h} ${p} </dev/null; } 2>&1; ${EXIT_MARKER}`,
    "else echo 'OPSBOOK_MISSING bash nc'; fi",
  ].join('\n');
}

export function parseEndpoint(output: string): Parsed<EndpointProbe> {
  return parseToolOutput(output, (out) => {
    for (const via of ['curl', 'wget', 'bash', 'nc'] as const) {
      const lines = out.sections.get(via);
      if (!lines) continue;
      const exit = toInt(out.marker('EXIT', via));
      if (exit === undefined) return unknown(`the ${via} probe did not finish (truncated output)`);
      // 124 is timeout(1) giving up (unreachable); above 128 the tool itself died of a signal.
      if (exit > 128)
        return unknown(`${via} crashed (exit ${exit}, signal ${exit - 128}) before answering`);
      const text = lines.filter((l) => l.trim() !== '');
      const detail =
        exit === 0
          ? 'connected'
          : `${via} exit ${exit}${text.length ? `: ${quoteOutput(text)}` : ''}`;
      if (via === 'curl') {
        const [code, seconds] = (out.marker('HTTP', via) ?? '').split(' ');
        const httpStatus = toInt(code);
        const time = toNumber(seconds);
        const isReachable = exit === 0 && httpStatus !== undefined && httpStatus > 0;
        return parsed({
          via,
          isReachable,
          ...(isReachable ? { httpStatus } : {}),
          ...(time !== undefined ? { ms: Math.round(time * 1000) } : {}),
          detail,
        });
      }
      if (via === 'wget') {
        const statuses = text
          .map((l) => /^\s*HTTP\/[\d.]+\s+(\d{3})/.exec(l)?.[1])
          .filter((s): s is string => s !== undefined);
        const last = toInt(statuses.at(-1));
        // wget exits 8 on an HTTP error status yet the server answered: it is reachable.
        return parsed({
          via,
          isReachable: last !== undefined,
          ...(last !== undefined ? { httpStatus: last } : {}),
          detail,
        });
      }
      return parsed({ via, isReachable: exit === 0, detail });
    }
    return unknown(excerpt(out.lines()));
  });
}

export const endpointCheck = defineCheck({
  name: 'inspection.endpoint',
  description:
    'A URL answers, or a TCP endpoint accepts connections, as seen from the inspected host',
  with: {
    properties: {
      url: {
        type: 'string',
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
        description: 'http(s) URL to request',
      },
      host: hostName,
      port: tcpPort,
      timeout_s: {
        type: 'integer',
        minimum: 1,
        maximum: 120,
        default: 5,
        description: 'Give up after this many seconds',
      },
      expect_status: {
        type: 'array',
        items: { type: 'integer', minimum: 100, maximum: 599 },
        uniqueItems: true,
        description: 'HTTP statuses that count as healthy (default: any 2xx or 3xx)',
      },
    },
    oneOf: exactlyOneOf(['url'], ['host', 'port']),
  },
  limits: warnCritLimits({
    name: 'ms',
    worse: 'above',
    unit: 'ms',
    ...warnAndCrit(
      count,
      1000,
      5000,
      'when the request takes this many milliseconds or more (curl only)',
    ),
  }),
})({
  collect: (w) => {
    const timeout = w.timeout_s ?? 5;
    const body =
      w.url !== undefined
        ? collectUrl(w.url, timeout)
        : collectTcp(w.host ?? '', w.port ?? 0, timeout);
    return buildCollector(body);
  },
  parse: parseEndpoint,
  evaluate: (probe, ctx, limits) => {
    const subject = ctx.with.url ?? `${ctx.with.host}:${ctx.with.port}`;
    if (!probe.isReachable) {
      return makeFinding(ctx, {
        subject,
        status: 'crit',
        value: false,
        message: `${subject} is not reachable (${probe.detail})`,
      });
    }
    if (probe.httpStatus !== undefined) {
      const expected = ctx.with.expect_status;
      const isHealthy = expected
        ? expected.includes(probe.httpStatus)
        : probe.httpStatus >= 200 && probe.httpStatus < 400;
      if (!isHealthy) {
        return makeFinding(ctx, {
          subject,
          status: 'crit',
          value: probe.httpStatus,
          message: `${subject} answered HTTP ${probe.httpStatus}`,
        });
      }
    }
    if (probe.ms === undefined) {
      const what =
        probe.httpStatus !== undefined ? `HTTP ${probe.httpStatus}` : 'accepts connections';
      return makeFinding(ctx, {
        subject,
        status: 'ok',
        value: true,
        message: `${subject} ${what} (via ${probe.via})`,
      });
    }
    return limits.finding(ctx, {
      subject,
      value: probe.ms,
      message: `${subject} answered HTTP ${probe.httpStatus} in ${probe.ms} ms`,
    });
  },
});
