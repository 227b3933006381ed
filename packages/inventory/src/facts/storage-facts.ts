import { type Parsed, parseDf, parseMeminfo } from '@opsbook/inspection';
import { describeOutput, factUnknown, factValue, readCount, readFactPart } from './fact-part.js';
import type { BlockDeviceFact, FilesystemFact, MemoryFact } from './host-facts-schema.js';

/** /proc/meminfo, read by the same parser as the memory and swap checks. */
export function parseMemory(text: string): Parsed<MemoryFact> {
  const info = parseMeminfo(text);
  if (!info.ok) return info;
  const m = info.data;
  return factValue({
    totalKiB: m.memTotal,
    availableKiB: m.memAvailable,
    swapTotalKiB: m.swapTotal,
    swapFreeKiB: m.swapFree,
  });
}

/** Pseudo filesystems that hold no data of the host's disks. */
const PSEUDO = new Set(['tmpfs', 'devtmpfs', 'udev', 'shm', 'none', 'run', 'overlay-pseudo']);

/** `df -Pk`, read by the same parser as the disk check; pseudo filesystems are left out. */
export function parseFilesystems(text: string): Parsed<FilesystemFact[]> {
  const rows = parseDf(text);
  if (!rows.ok) return rows;
  return factValue(
    rows.data
      .filter((r) => !PSEUDO.has(r.filesystem))
      .map((r) => ({
        filesystem: r.filesystem,
        mount: r.mount,
        sizeKiB: r.total,
        usedKiB: r.used,
        availableKiB: r.available,
        usedPct: r.usedPct,
      })),
  );
}

/** `lsblk -b -P -o NAME,TYPE,SIZE,RO`, or `<name> <512-byte sectors> <ro>` from /sys/block. */
export function parseBlockDevices(text: string): Parsed<BlockDeviceFact[]> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const part = read.data;
  const lsblk = part.sections.get('lsblk');
  if (lsblk) return readLsblk(lsblk);
  const sys = part.sections.get('sys');
  if (!sys) return factUnknown(describeOutput(part.sections.get('') ?? []));
  const devices: BlockDeviceFact[] = [];
  for (const line of sys) {
    const [name = '', sectors, ro] = line.trim().split(/\s+/);
    const n = readCount(sectors);
    if (!/^[\w.:-]+$/.test(name) || n === undefined) continue;
    devices.push({ name, type: null, sizeBytes: n * 512, isReadOnly: ro === '1' });
  }
  if (devices.length === 0 && sys.length > 0) return factUnknown(describeOutput(sys));
  return factValue(devices);
}

function readLsblk(lines: readonly string[]): Parsed<BlockDeviceFact[]> {
  const devices: BlockDeviceFact[] = [];
  for (const line of lines) {
    const pairs = new Map<string, string>();
    for (const m of line.matchAll(/([A-Z:-]+)="([^"]*)"/g)) pairs.set(m[1] ?? '', m[2] ?? '');
    const name = pairs.get('NAME');
    const size = readCount(pairs.get('SIZE'));
    if (!name || size === undefined) continue;
    devices.push({
      name,
      type: pairs.get('TYPE') || null,
      sizeBytes: size,
      isReadOnly: pairs.get('RO') === '1',
    });
  }
  if (devices.length === 0 && lines.length > 0) return factUnknown(describeOutput(lines));
  return factValue(devices);
}
