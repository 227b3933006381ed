import { type ParamSpec, parseTemplate, type TemplateRef } from '@opsbook/schema';
import { type ShellContext, shellContexts } from './shell-context.js';

/** A `{{ … }}` of a run: block: what it names, where it is, and how the shell reads that spot. */
export interface Placeholder {
  ref: TemplateRef;
  raw: string;
  /** Offsets in the template (the run: value). */
  start: number;
  end: number;
  /** Offset of its stand-in in the rendered text (same length as `raw`). */
  renderedStart: number;
  context: ShellContext;
  isSecret: boolean;
}

/**
 * A run: block as ShellCheck reads it: each placeholder replaced by a stand-in of the same
 * length. Where the shell reads code, the stand-in is a quoted variable (`"$PARAM_PATH___"`):
 * one word whose value is unknown, exactly what opsbook's quoted substitution gives, so
 * ShellCheck neither complains about it (`test -z '…'` would be "always false") nor misses what
 * is around it. Elsewhere (quotes, here-documents, comments) it is plain `___`; the
 * template-quoting rule reports those. A literal `{{ "{{" }}` becomes its text.
 */
export interface RenderedRunBlock {
  text: string;
  placeholders: Placeholder[];
  /** The template offset that rendered offset `offset` came from. */
  templateOffset(offset: number): number;
}

interface Segment {
  /** Start in the rendered text and in the template, and lengths in each. */
  at: number;
  from: number;
  length: number;
  fromLength: number;
}

const LITERAL = /\{\{\s*"([^"]*)"\s*\}\}/g;

export function renderRunBlock(
  template: string,
  params: Readonly<Record<string, ParamSpec>>,
): RenderedRunBlock {
  const refs = parseTemplate(template).parts.flatMap((p) =>
    p.kind === 'ref'
      ? [{ ref: p.ref, raw: p.raw, start: p.offset, end: p.offset + p.raw.length }]
      : [],
  );
  // The text with each placeholder as `_`s: what the lexer reads to find their contexts.
  const segments: Segment[] = [];
  let skeleton = '';
  let from = 0;
  const addText = (end: number) => {
    const text = template.slice(from, end);
    let last = 0;
    for (const m of text.matchAll(LITERAL)) {
      addSegment(text.slice(last, m.index), from + last, m.index - last);
      addSegment(m[1]!, from + m.index, m[0].length);
      last = m.index + m[0].length;
    }
    addSegment(text.slice(last), from + last, text.length - last);
  };
  const addSegment = (text: string, at: number, fromLength: number) => {
    segments.push({ at: skeleton.length, from: at, length: text.length, fromLength });
    skeleton += text;
  };
  const starts: number[] = [];
  for (const r of refs) {
    addText(r.start);
    starts.push(skeleton.length);
    addSegment('_'.repeat(r.raw.length), r.start, r.raw.length);
    from = r.end;
  }
  addText(template.length);

  const contexts = shellContexts(skeleton);
  let text = skeleton;
  const placeholders = refs.map((r, k) => {
    const at = starts[k]!;
    const context = contexts.contextAt(at);
    const isSecret = r.ref.kind === 'param' && params[r.ref.name]?.secret === true;
    if (context === 'code')
      text = text.slice(0, at) + standIn(r.ref, r.raw.length) + text.slice(at + r.raw.length);
    return { ...r, renderedStart: at, context, isSecret };
  });
  return { text, placeholders, templateOffset: (offset) => templateOffsetOf(segments, offset) };
}

/** `"$NAME"` padded with `_` to `length` (a placeholder is always long enough). */
function standIn(ref: TemplateRef, length: number): string {
  const name =
    ref.kind === 'param'
      ? `PARAM_${ref.name.toUpperCase()}`
      : ref.kind === 'host-var'
        ? `HOSTVAR_${ref.name.toUpperCase()}`
        : 'HOST_NAME';
  const room = length - 3;
  return `"$${name.slice(0, room).padEnd(room, '_')}"`;
}

function templateOffsetOf(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.at <= offset) lo = mid;
    else hi = mid - 1;
  }
  const s = segments[lo]!;
  const inside = offset - s.at;
  // Inside a replaced piece of another length (a literal), its start; past the end, the end.
  if (s.length !== s.fromLength) return inside >= s.length ? s.from + s.fromLength : s.from;
  return s.from + Math.min(inside, s.fromLength);
}
