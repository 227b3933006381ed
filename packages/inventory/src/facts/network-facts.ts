import { isIP } from 'node:net';
import { type Parsed, parseListening } from '@opsbook/inspection';
import { describeOutput, factUnknown, factValue, readFactPart } from './fact-part.js';
import type { InterfaceAddress, InterfaceFact, ServiceFact } from './host-facts-schema.js';

/** `ip -o addr show` (iproute2 and BusyBox), or /proc/net/dev (+ if_inet6) when ip is missing. */
export function parseInterfaces(text: string): Parsed<InterfaceFact[]> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const part = read.data;
  const byName = new Map<string, InterfaceAddress[]>();
  const ip = part.sections.get('ip');
  const proc = part.sections.get('proc');
  const lines = ip ?? proc ?? part.sections.get('') ?? [];
  for (const line of lines) {
    if (ip) readIpLine(line, byName);
    else if (proc) readProcLine(line, byName);
  }
  if (byName.size === 0) return factUnknown(describeOutput(lines));
  return factValue([...byName].map(([name, addresses]) => ({ name, addresses })));
}

function readIpLine(line: string, byName: Map<string, InterfaceAddress[]>): void {
  const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d{1,3})\b/.exec(line);
  if (!m?.[1]) return;
  const family = m[2] === 'inet' ? 'inet' : 'inet6';
  const address = m[3] ?? '';
  const prefix = Number(m[4]);
  if (isIP(address) !== (family === 'inet' ? 4 : 6) || prefix > (family === 'inet' ? 32 : 128))
    return;
  const list = byName.get(m[1]) ?? [];
  list.push({ family, address, prefix });
  byName.set(m[1], list);
}

/** /proc/net/dev names the interfaces; /proc/net/if_inet6 adds their IPv6 addresses. */
function readProcLine(line: string, byName: Map<string, InterfaceAddress[]>): void {
  const dev = /^\s*([^\s:]+):\s*\d/.exec(line);
  if (dev?.[1]) {
    if (!byName.has(dev[1])) byName.set(dev[1], []);
    return;
  }
  const v6 = /^([0-9a-f]{32})\s+[0-9a-f]+\s+([0-9a-f]{2})\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S+)$/.exec(
    line.trim(),
  );
  if (!v6?.[1] || !v6[3]) return;
  const address = (v6[1].match(/.{4}/g) ?? []).join(':');
  const list = byName.get(v6[3]) ?? [];
  list.push({ family: 'inet6', address, prefix: Number.parseInt(v6[2] ?? '0', 16) });
  byName.set(v6[3], list);
}

/**
 * Listening TCP sockets, read by the same parser as the port-listening check, with the program
 * name from `ss -p` (`users:(("sshd",pid=1,fd=3))`) or `netstat -p` (`1/sshd`) when present.
 */
export function parseServices(text: string): Parsed<ServiceFact[]> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const part = read.data;
  const sockets = parseListening(text);
  if (!sockets.ok) return sockets;
  const programs = new Map<string, string>();
  for (const lines of [part.sections.get('ss'), part.sections.get('netstat')]) {
    for (const line of lines ?? []) {
      const f = line.trim().split(/\s+/);
      const program =
        /users:\(\("([^"]+)"/.exec(line)?.[1] ?? /^\d+\/(\S+)$/.exec(f.at(-1) ?? '')?.[1];
      if (program && f[3]) programs.set(endpointKey(f[3]), program);
    }
  }
  const seen = new Set<string>();
  const services: ServiceFact[] = [];
  for (const s of sockets.data) {
    const key = `${s.address}|${s.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const process = programs.get(key) ?? null;
    services.push({ address: s.address, port: s.port, process });
  }
  return factValue(services.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address)));
}

/** The same address normalisation as the listening parser: no brackets, no `%iface`. */
function endpointKey(text: string): string {
  const at = text.lastIndexOf(':');
  const address = text
    .slice(0, at)
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  return `${address === '' ? '::' : address}|${Number(text.slice(at + 1))}`;
}
