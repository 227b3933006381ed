import { excerpt, parsed, parseToolOutput, unknown } from '../collector-output.js';
import { buildCollector, section } from '../collector-script.js';
import { defineCheck, makeFinding, type Parsed } from '../inspection-check.js';
import { hostName, tcpPort } from '../with-schema-fragments.js';

export interface ListeningSocket {
  address: string;
  port: number;
}

/** ss (iproute2), then net-tools or BusyBox netstat, then the kernel's own table. */
const COLLECTOR = buildCollector(
  [
    `if command -v ss >/dev/null 2>&1; then ${section('ss')}; ss -ltn 2>/dev/null`,
    `elif command -v netstat >/dev/null 2>&1; then ${section('netstat')}; netstat -ltn 2>/dev/null`,
    `elif [ -r /proc/net/tcp ]; then ${section('proc')}; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null`,
    "else echo 'OPSBOOK_MISSING ss netstat /proc/net/tcp'; fi",
  ].join('\n'),
);

/** `127.0.0.1:22`, `[::]:22`, `:::22`, `*:80`, `127.0.0.53%lo:53` → address and port. */
function splitEndpoint(text: string): ListeningSocket | undefined {
  const at = text.lastIndexOf(':');
  if (at < 0) return undefined;
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const address = text
    .slice(0, at)
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  return { address: address === '' ? '::' : address, port };
}

/** /proc/net/tcp keeps addresses in hex, and state 0A means LISTEN. */
function parseProcNetTcp(lines: readonly string[]): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(f[0] ?? '') || f[3] !== '0A') continue;
    const [hexAddr = '', hexPort = ''] = (f[1] ?? '').split(':');
    const port = Number.parseInt(hexPort, 16);
    const address =
      hexAddr.length === 8
        ? hexAddr
            .match(/../g)!
            .reverse()
            .map((b) => Number.parseInt(b, 16))
            .join('.')
        : hexAddr === '0'.repeat(32)
          ? '::'
          : hexAddr;
    if (port > 0) sockets.push({ address, port });
  }
  return sockets;
}

export function parseListening(output: string): Parsed<ListeningSocket[]> {
  return parseToolOutput(output, (out) => {
    for (const [name, column] of [
      ['ss', 3],
      ['netstat', 3],
    ] as const) {
      const lines = out.sections.get(name);
      if (!lines) continue;
      const headerSeen = lines.some((l) => /^(State|Proto)\s/.test(l));
      if (!headerSeen) return unknown(`${name} printed no socket table: ${excerpt(lines)}`);
      const sockets: ListeningSocket[] = [];
      for (const line of lines) {
        const f = line.trim().split(/\s+/);
        if (name === 'netstat' && !/^tcp/.test(f[0] ?? '')) continue;
        if (name === 'ss' && f[0] !== 'LISTEN') continue;
        const endpoint = splitEndpoint(f[column] ?? '');
        if (endpoint) sockets.push(endpoint);
      }
      return parsed(sockets);
    }
    const proc = out.sections.get('proc');
    if (proc?.some((l) => /^\s*sl\s+local_address/.test(l))) return parsed(parseProcNetTcp(proc));
    return unknown(excerpt(out.lines(out.sections.has('proc') ? 'proc' : '')));
  });
}

const WILDCARDS = new Set(['0.0.0.0', '::', '*']);

export const portListeningCheck = defineCheck({
  name: 'inspection.port-listening',
  description: 'A TCP port is listening on the host (ss -ltn, netstat -ltn or /proc/net/tcp)',
  with: {
    required: ['port'],
    properties: {
      port: tcpPort,
      address: {
        ...hostName,
        description: 'Listening address that must serve the port; a wildcard listener also counts',
      },
    },
  },
})({
  collect: () => COLLECTOR,
  parse: parseListening,
  evaluate: (sockets, ctx) => {
    const { port, address } = ctx.with;
    const hits = sockets.filter(
      (s) => s.port === port && (!address || s.address === address || WILDCARDS.has(s.address)),
    );
    const where = address ? `${address}:${port}` : `port ${port}`;
    const on = [...new Set(hits.map((s) => s.address))].join(', ');
    return makeFinding(ctx, {
      subject: String(port),
      status: hits.length > 0 ? 'ok' : 'crit',
      value: hits.length > 0,
      message: hits.length > 0 ? `${where} is listening (on ${on})` : `nothing listens on ${where}`,
    });
  },
});
