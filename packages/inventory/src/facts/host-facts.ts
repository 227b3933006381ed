import type { Parsed } from '@opsbook/inspection';
import { type FactName, factNames, splitFactParts } from './facts-collector.js';
import type { HostFacts } from './host-facts-schema.js';
import { parseInterfaces, parseServices } from './network-facts.js';
import { parseBlockDevices, parseFilesystems, parseMemory } from './storage-facts.js';
import { parseCpu, parseKernel, parseOsRelease, parseUptime } from './system-facts.js';

/** Parse the facts collector's stdout. Never throws: unreadable parts become `unknown` entries. */
export function parseHostFacts(host: string, output: string | Uint8Array): HostFacts {
  const text = typeof output === 'string' ? output : Buffer.from(output).toString('utf8');
  const parts = splitFactParts(text);
  const unknown: HostFacts['unknown'] = [];
  const read = <D>(fact: FactName, parse: (t: string) => Parsed<D>): D | null => {
    const part = parts.get(fact);
    if (part === undefined) {
      unknown.push({ fact, reason: 'the collector printed nothing for it (output cut short?)' });
      return null;
    }
    let result: Parsed<D>;
    try {
      result = parse(part);
    } catch (e) {
      result = { ok: false, reason: `the ${fact} parser failed (${(e as Error).message})` };
    }
    if (result.ok) return result.data;
    unknown.push({ fact, reason: result.reason });
    return null;
  };
  return {
    host,
    os: read('os', parseOsRelease),
    kernel: read('kernel', parseKernel),
    cpu: read('cpu', parseCpu),
    memory: read('memory', parseMemory),
    filesystems: read('filesystems', parseFilesystems) ?? [],
    blockDevices: read('block-devices', parseBlockDevices) ?? [],
    interfaces: read('interfaces', parseInterfaces) ?? [],
    uptimeSeconds: read('uptime', parseUptime),
    services: read('services', parseServices) ?? [],
    unknown,
  };
}

export { factNames };
