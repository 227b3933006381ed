import type { Parsed } from '@opsbook/inspection';
import { describeOutput, factUnknown, factValue, readCount, readFactPart } from './fact-part.js';
import type { CpuFact, KernelFact, OsFact } from './host-facts-schema.js';

/** os-release(5): `KEY=value`, values optionally in double or single quotes. */
export function parseOsRelease(text: string): Parsed<OsFact> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const lines = read.data.sections.get('') ?? [];
  const fields = new Map<string, string>();
  for (const line of lines) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) fields.set(m[1], unquote(m[2] ?? ''));
  }
  const id = fields.get('ID');
  const name = fields.get('NAME') ?? fields.get('PRETTY_NAME');
  if (!id || !name) return factUnknown(`not an os-release file: ${describeOutput(lines)}`);
  return factValue({
    id,
    name,
    versionId: fields.get('VERSION_ID') ?? null,
    prettyName: fields.get('PRETTY_NAME') ?? name,
  });
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0]) {
    return v.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
  }
  return v;
}

/** `uname -s -r -m`: three words. */
export function parseKernel(text: string): Parsed<KernelFact> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const lines = read.data.sections.get('') ?? [];
  const words = (lines[0] ?? '').trim().split(/\s+/);
  const [name, release, machine] = words;
  if (words.length !== 3 || !name || !release || !machine || !/^[0-9]/.test(release)) {
    return factUnknown(`not uname -srm output: ${describeOutput(lines)}`);
  }
  return factValue({ name, release, machine });
}

/** Model names by the field each architecture uses in /proc/cpuinfo. */
const MODEL_FIELDS = ['model name', 'cpu model', 'Model', 'Hardware', 'cpu'];

/** /proc/cpuinfo (x86, ARM, MIPS, POWER layouts), with the `nproc` answer when there was one. */
export function parseCpu(text: string): Parsed<CpuFact> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const lines = read.data.sections.get('') ?? [];
  const fields = new Map<string, string>();
  let processors = 0;
  for (const line of lines) {
    const m = /^([A-Za-z][A-Za-z0-9 _]*?)\s*:\s*(.*)$/.exec(line);
    if (!m?.[1]) continue;
    if (m[1] === 'processor' && readCount(m[2]) !== undefined) processors++;
    if (!fields.has(m[1])) fields.set(m[1], (m[2] ?? '').trim());
  }
  const nproc = readCount(read.data.markers.get('NPROC'));
  const cores = nproc !== undefined && nproc > 0 ? nproc : processors;
  if (cores === 0) return factUnknown(`not /proc/cpuinfo: ${describeOutput(lines)}`);
  const model = MODEL_FIELDS.map((f) => fields.get(f)).find((v) => v !== undefined && v !== '');
  return factValue({ model: model ?? null, cores });
}

/** /proc/uptime: seconds since boot, then idle seconds. */
export function parseUptime(text: string): Parsed<number> {
  const read = readFactPart(text);
  if (!read.ok) return read;
  const lines = read.data.sections.get('') ?? [];
  const m = /^(\d+)(?:\.\d+)?\s+\d+(?:\.\d+)?$/.exec((lines[0] ?? '').trim());
  const seconds = readCount(m?.[1]);
  if (seconds === undefined) return factUnknown(`not /proc/uptime: ${describeOutput(lines)}`);
  return factValue(seconds);
}
