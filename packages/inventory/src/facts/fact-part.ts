import type { Parsed } from '@opsbook/inspection';

/** A short, printable excerpt of unrecognised output for a reason: the inspection parsers' own. */
export { excerpt as describeOutput } from '@opsbook/inspection';

/** One part of the facts collector's output: its lines by tool section, and its markers. */
export interface FactPart {
  /** Lines of each `OPSBOOK_SECTION`; `''` holds the lines before the first one. */
  sections: ReadonlyMap<string, readonly string[]>;
  markers: ReadonlyMap<string, string>;
}

const MARKER = /^OPSBOOK_([A-Z_]+)(?: (.*))?$/;

/**
 * The part's sections and markers, or `unknown` with the reason when the host lacks every tool
 * for this fact.
 */
export function readFactPart(text: string): Parsed<FactPart> {
  const part = splitFactPart(text);
  return missingTools(part) ?? factValue(part);
}

function splitFactPart(text: string): FactPart {
  const sections = new Map<string, string[]>([['', []]]);
  const markers = new Map<string, string>();
  let current = sections.get('') as string[];
  for (const line of text.split('\n')) {
    const m = MARKER.exec(line);
    if (!m) {
      if (line.trim() !== '') current.push(line);
      continue;
    }
    const [, key = '', value = ''] = m;
    if (key === 'SECTION') {
      current = [];
      sections.set(value.trim(), current);
    } else if (!markers.has(key)) markers.set(key, value.trim());
  }
  return { sections, markers };
}

/** `unknown` with the reason when the host lacks every tool for this fact. */
function missingTools(part: FactPart): Parsed<never> | undefined {
  const missing = part.markers.get('MISSING');
  return missing === undefined
    ? undefined
    : { ok: false, reason: `not available on the host: ${missing}` };
}

export function factValue<D>(data: D): Parsed<D> {
  return { ok: true, data };
}

export function factUnknown<D>(reason: string): Parsed<D> {
  return { ok: false, reason };
}

/** A non-negative safe integer from plain decimal text, else undefined. */
export function readCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}
