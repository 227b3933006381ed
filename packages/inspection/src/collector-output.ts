import type { Parsed } from './inspection-check.js';

/** A collector's stdout split into its marker lines and named sections. */
export interface CollectorOutput {
  /** Lines of each section; `''` holds the lines before the first section marker. */
  sections: ReadonlyMap<string, readonly string[]>;
  /** Marker values by marker name (`EXIT`, `NOW`, `MISSING`, …), in order of appearance. */
  markers: ReadonlyMap<string, readonly string[]>;
  /** Markers by section, for collectors that record an exit status per part. */
  sectionMarkers: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /** The first value of a marker: in one section, or anywhere when no section is named. */
  marker(key: string, sectionName?: string): string | undefined;
  /** Lines of a section without blank lines; `''` (the default) is before the first section. */
  lines(sectionName?: string): string[];
}

/** Bound the work on an absurd output: far more than any collector prints. */
const MAX_LINES = 200_000;
const MARKER = /^OPSBOOK_([A-Z_]+)(?: (.*))?$/;

export function readCollectorOutput(output: string): CollectorOutput {
  const sections = new Map<string, string[]>([['', []]]);
  const markers = new Map<string, string[]>();
  const sectionMarkers = new Map<string, Map<string, string[]>>([['', new Map()]]);
  let current = '';
  const lines = String(output).split('\n', MAX_LINES);
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = MARKER.exec(line);
    if (!m) {
      sections.get(current)?.push(line);
      continue;
    }
    const [, key = '', value = ''] = m;
    if (key === 'SECTION') {
      current = value.trim();
      if (!sections.has(current)) sections.set(current, []);
      if (!sectionMarkers.has(current)) sectionMarkers.set(current, new Map());
      continue;
    }
    push(markers, key, value);
    const own = sectionMarkers.get(current);
    if (own) push(own, key, value);
  }
  return {
    sections,
    markers,
    sectionMarkers,
    marker: (key, sectionName) =>
      (sectionName === undefined ? markers : sectionMarkers.get(sectionName))?.get(key)?.[0],
    lines: (name = '') => (sections.get(name) ?? []).filter((l) => l.trim() !== ''),
  };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Why there is nothing to parse: the tool is missing on the host. */
export function missingReason(out: CollectorOutput): string | undefined {
  const missing = out.markers.get('MISSING');
  if (!missing || missing.length === 0) return undefined;
  const tools = missing.join(', ');
  return `not available on the host: ${tools} (install it or drop this check for the host)`;
}

/**
 * A parser's frame: `parse` reads the collector's output, unless the collector reported a tool
 * missing on the host, which makes the result `unknown` with the reason before any parsing.
 */
export function parseToolOutput<D>(
  output: string,
  parse: (out: CollectorOutput) => Parsed<D>,
): Parsed<D> {
  const out = readCollectorOutput(output);
  const missing = missingReason(out);
  if (missing) return unknown(missing);
  return parse(out);
}

export function unknown<D>(reason: string): Parsed<D> {
  return { ok: false, reason };
}

export function parsed<D>(data: D): Parsed<D> {
  return { ok: true, data };
}

/** An integer read from text, or undefined for anything that is not a plain decimal. */
export function toInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

export function toNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** A short, printable excerpt of unrecognised output for an `unknown` reason. */
export function excerpt(lines: readonly string[]): string {
  const quoted = quoteOutput(lines);
  return quoted === NOTHING ? quoted : `unrecognised output: ${quoted}`;
}

const NOTHING = 'the collector printed nothing';

/** What a tool printed, short, printable and quoted, to say why it failed. */
export function quoteOutput(lines: readonly string[]): string {
  const text = lines
    .join(' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  if (text === '') return NOTHING;
  return `"${text.length > 120 ? `${text.slice(0, 120)}…` : text}"`;
}

/**
 * Why a tool's part of the output cannot be read, from the exit status its collector recorded:
 * none (the output was cut), or not 0 (with what the tool said); `undefined` when it succeeded.
 */
export function toolFailure(
  tool: string,
  exit: string | undefined,
  lines: readonly string[],
): string | undefined {
  if (exit === '0') return undefined;
  if (exit === undefined) return `${tool} output is truncated`;
  return `${tool} failed (exit ${exit}): ${quoteOutput(lines)}`;
}
