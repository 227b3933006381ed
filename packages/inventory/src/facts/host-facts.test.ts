import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHostFacts } from './host-facts.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../__fixtures__/${name}/facts.txt`, import.meta.url), 'utf8');

describe.each(['facts-debian-12', 'facts-busybox'])('parseHostFacts on %s', (name) => {
  const text = fixture(name);
  const facts = parseHostFacts('h1', text);

  it('reads every fact the captured host gave, with no unknown part', () => {
    expect(facts.unknown).toEqual([]);
    expect(facts.os).toMatchObject({ id: 'debian', versionId: '12' });
    expect(facts.kernel?.name).toBe('Linux');
    expect(facts.kernel?.release).toMatch(/^\d+\.\d+/);
    expect(facts.cpu?.cores).toBeGreaterThan(0);
    expect(facts.cpu?.model).toBeTruthy();
    expect(facts.memory?.totalKiB).toBeGreaterThan(facts.memory?.availableKiB ?? Infinity);
    expect(facts.uptimeSeconds).toBeGreaterThan(0);
  });

  it('keeps the root filesystem and drops pseudo filesystems', () => {
    const root = facts.filesystems.find((f) => f.mount === '/');
    expect(root?.sizeKiB).toBeGreaterThan(root?.usedKiB ?? Infinity);
    expect(facts.filesystems.some((f) => f.filesystem === 'tmpfs')).toBe(false);
  });

  it('lists block devices, interfaces with addresses, and listening services', () => {
    expect(facts.blockDevices.length).toBeGreaterThan(0);
    const lo = facts.interfaces.find((i) => i.name === 'lo');
    expect(lo?.addresses).toContainEqual({ family: 'inet', address: '127.0.0.1', prefix: 8 });
    expect(facts.services.length).toBeGreaterThan(0);
    for (const s of facts.services) expect(s.port).toBeGreaterThan(0);
  });

  it('counts the same cores as the processor lines of /proc/cpuinfo', () => {
    const processors = text.split('\n').filter((l) => /^processor\s*:\s*\d+$/.test(l)).length;
    expect(facts.cpu?.cores).toBe(processors);
  });

  it('records a part cut off by a truncated output as unknown, keeping the parts before it', () => {
    const cut = text.slice(0, text.indexOf('OPSBOOK_FACT filesystems'));
    const partial = parseHostFacts('h1', cut);
    expect(partial.os).toEqual(facts.os);
    expect(partial.unknown.map((u) => u.fact)).toEqual([
      'filesystems',
      'block-devices',
      'interfaces',
      'uptime',
      'services',
    ]);
  });
});

describe('parseHostFacts tool choices', () => {
  it('names the program of each socket from ss -p (Debian), none from BusyBox netstat', () => {
    const debian = parseHostFacts('h', fixture('facts-debian-12'));
    expect(debian.services.some((s) => s.process === 'sshd')).toBe(true);
    const busybox = parseHostFacts('h', fixture('facts-busybox'));
    expect(busybox.services.every((s) => s.process === null)).toBe(true);
  });

  it('gives sizes from lsblk in bytes and from /sys/block in 512-byte sectors', () => {
    const debian = parseHostFacts('h', fixture('facts-debian-12'));
    const busybox = parseHostFacts('h', fixture('facts-busybox'));
    const vdaLsblk = debian.blockDevices.find((d) => d.name === 'vda');
    const vdaSys = busybox.blockDevices.find((d) => d.name === 'vda');
    expect(vdaLsblk?.type).toBe('disk');
    expect(vdaSys?.type).toBeNull();
    expect(vdaSys?.sizeBytes).toBe(vdaLsblk?.sizeBytes);
  });
});

describe('parseHostFacts on garbage', () => {
  const garbage: [string, string | Uint8Array][] = [
    ['empty output', ''],
    ['binary bytes', new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256))],
    ['a shell error', 'sh: 1: syntax error: unexpected "("\n'],
    [
      'every part present but garbled',
      [
        'os',
        'kernel',
        'cpu',
        'memory',
        'filesystems',
        'block-devices',
        'interfaces',
        'uptime',
        'services',
      ]
        .map((p) => `OPSBOOK_FACT ${p}\n\x00\x01 ::: not=a fact\n}{`)
        .join('\n'),
    ],
  ];
  it.each(garbage)('gives unknown for every fact on %s, never throws', (_, output) => {
    const facts = parseHostFacts('h', output);
    expect(facts.unknown).toHaveLength(9);
    expect(facts.os).toBeNull();
    expect(facts.filesystems).toEqual([]);
    for (const u of facts.unknown) expect(u.reason).toMatch(/\S/);
  });
});
